import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { computeReport } from "../../analysis/report.ts";
import { openResults } from "../../analysis/results.ts";
import { resultsDigest } from "./journal.ts";
import { loadRunConfig } from "./config.ts";
import { executeRun } from "./run.ts";

/** Sharding: N machines each run one shard of the matrix; their folders, pooled, are the unsharded run. */
const config = { ...loadRunConfig("quick"), suites: ["workspace"], agents: ["single", "supervisor"], defenses: ["none", "l1"], sample: 20 };
const run = (out: string, shard?: { index: number; count: number }) => executeRun({ config, out, runId: shard ? `shard${shard.index}` : "whole", endpoint: {}, shard });

const episodesHash = async (dirs: string[]) => {
  const db = await openResults(dirs);
  try {
    const row = await resultsDigest(db.connection, "episodes", "events");
    // Overhead is wall-clock time: the one metric two runs never share.
    const report = (await computeReport(db)).map(({ defense_us_per_step: _, ...r }) => r);
    return { row, report };
  } finally {
    db.close();
  }
};

describe("sharded runs", () => {
  it("two shards split the campaigns between them, and pooled equal one unsharded run", async () => {
    const out = mkdtempSync(join(tmpdir(), "anis-shards-"));
    const whole = await run(out);
    const one = await run(out, { index: 1, count: 2 });
    const two = await run(out, { index: 2, count: 2 });
    expect(one.episodes).toBeGreaterThan(0);
    expect(two.episodes).toBeGreaterThan(0);
    expect(one.episodes + two.episodes).toBe(whole.episodes);
    const pooled = await episodesHash([one.dir, two.dir]);
    const single = await episodesHash([whole.dir]);
    expect(single.row).toEqual(whole.digest);
    expect(pooled.row).toEqual(single.row);
    expect(pooled.report).toEqual(single.report);
  });
});
