import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { formatTable } from "./format.ts";
import { computeReport } from "./report.ts";
import { openResults } from "./results.ts";
import { row, writeFixtureRun } from "./test-support.ts";

/** Real models cost money: the report sums each row's tokens, cached calls and dollars. */
const paid = [
  row({ defense: "none", model: "openai:gpt-4o-mini", user_task: "a", input_tokens: 1000, output_tokens: 100, cost_usd: 0.00021 }),
  row({ defense: "none", model: "openai:gpt-4o-mini", user_task: "b", input_tokens: 3000, output_tokens: 300, cost_usd: 0.00063 }),
  row({ defense: "none", model: "openai:gpt-4o-mini", user_task: "c", cached_calls: 3, cost_usd: 0 }),
];

describe("tokens and cost in the report", () => {
  it("sums tokens, cached calls and cost per (defense, model), and shows them when tokens were used", async () => {
    const db = await openResults([await writeFixtureRun(paid)]);
    try {
      const [report] = await computeReport(db);
      expect(report).toMatchObject({ tokens: 4400, input_tokens: 4000, output_tokens: 400, cached_calls: 3 });
      expect(report!.cost_usd).toBeCloseTo(0.00084, 10);
      expect(formatTable([report!])).toContain("cost $");
      expect(formatTable([{ ...report!, tokens: 0 }])).not.toContain("cost $");
    } finally {
      db.close();
    }
  });

  it("reads a run folder written before the token columns existed as no tokens and no cost", async () => {
    const dir = await writeFixtureRun([row({ defense: "none", model: "sim:obedient", user_task: "a" })]);
    const file = join(dir, "episodes.parquet");
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT * EXCLUDE (input_tokens, output_tokens, cached_calls, cost_usd) FROM '${file}') TO '${file}.old.parquet' (FORMAT parquet)`);
    await connection.run(`COPY (SELECT * FROM '${file}.old.parquet') TO '${file}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    const db = await openResults([dir]);
    try {
      const [report] = await computeReport(db);
      expect(report).toMatchObject({ n_benign: 1, tokens: 0, cached_calls: 0, cost_usd: null });
    } finally {
      db.close();
    }
  });
});
