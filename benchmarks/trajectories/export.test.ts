import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeReplay } from "../../analysis/replay.ts";
import { loadDefenseConfiguration } from "../../defenses/config.ts";
import { loadRunConfig } from "../runner/config.ts";
import { executeRun } from "../runner/run.ts";
import { exportRun } from "./export.ts";
import { importTrajectories } from "./import.ts";
import { replayTrajectories } from "./replay.ts";
import { parquetRows } from "./test-support.ts";
import type { TrajectoryManifest } from "./writer.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/runs", import.meta.url));
const temp = mkdtempSync(join(tmpdir(), "anis-export-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe("our own runs as trajectory tables", () => {
  let manifest: TrajectoryManifest;
  beforeAll(async () => {
    const config = { ...loadRunConfig("quick"), name: "export", suites: ["workspace"], agents: ["single"], defenses: ["none"], models: ["sim:obedient"], attacks: "important-instructions--*,fake-completion--*", sample: 6 };
    const run = await executeRun({ config, out: temp, runId: "run", endpoint: {} });
    manifest = await exportRun({ run: run.dir, out: join(temp, "exported") });
  }, 240_000);

  it("writes one run per episode, pipeline model+defense, with the tools' own labels in the deployment beside it", async () => {
    const episodes = await parquetRows(join(temp, "run", "episodes.parquet"));
    expect(manifest).toMatchObject({ source: "anis", counts: { runs: episodes.length, malformed: 0 } });
    expect(Object.keys(manifest.pipelines)).toEqual(["sim:obedient+none"]);
    const deployment = JSON.parse(readFileSync(join(temp, "exported", "deployment.json"), "utf8"));
    expect(deployment.suites.workspace.send_email).toMatchObject({ sensitivity: "external_sink", results: "trusted", destinations: ["to"], capabilities: ["sending a message"] });
    expect(deployment.suites.workspace.read_email).toMatchObject({ sensitivity: "read", results: "untrusted" });
  });

  it("finds each planted text in the outputs the agent read and each attacker call, as for AgentDojo's logs", async () => {
    const runs = await parquetRows(join(temp, "exported", "runs.parquet"), "injection_task IS NOT NULL");
    expect(runs.length).toBe(6);
    expect(runs.every((r) => Number(r.injected_outputs) > 0)).toBe(true);
    // Under the obedient model every attack that reached the agent succeeded, and the rule sees its call.
    const all = manifest.goal_rule.find((g) => g.suite === "all")!;
    expect(all.both + all.security_only).toBe(runs.filter((r) => r.security === true).length);
    expect(all.rule_only).toBe(0);
    expect(all.both).toBeGreaterThanOrEqual(4);
  });

  it("pools with AgentDojo's tables in one query, and replays like them", async () => {
    await importTrajectories({ from: FIXTURES, out: join(temp, "agentdojo") });
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const files = ["exported", "agentdojo"].map((d) => `'${join(temp, d, "runs.parquet")}'`).join(", ");
    const pooled = (await connection.runAndReadAll(`SELECT source, count(*)::INTEGER AS runs FROM read_parquet([${files}]) GROUP BY source ORDER BY source`)).getRowObjectsJS();
    connection.closeSync();
    instance.closeSync();
    expect(pooled).toEqual([
      { source: "agentdojo", runs: 7 },
      { source: "anis", runs: manifest.counts.runs },
    ]);
    await replayTrajectories({ trajectories: join(temp, "exported"), configurations: [loadDefenseConfiguration("signature-sensor")], out: join(temp, "replay") });
    const injected = (await computeReplay(join(temp, "replay"))).texts.find((r) => r.subset === "all injected")!;
    expect(injected.n).toBeGreaterThan(0);
    expect(injected.flagged).toBeGreaterThan(0);
  });
});
