import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROFILES_DIR, type ProfileFile } from "../../agents/models/sim/profiles.ts";
import { calibrateAll, readProfileFile } from "../calibration/run.ts";
import { importTrajectories } from "./import.ts";
import type { TrajectoryManifest } from "./writer.ts";

/** AgentDojo's own run logs are not shipped: tests read them from ../shared/data when there; CI requires them. */
const ARCHIVE = fileURLToPath(new URL("../../../shared/data/agentdojo/runs.tar.gz", import.meta.url));
const present = existsSync(ARCHIVE);
const required = process.env.ANIS_REQUIRE_SHARED_DATA === "1";
if (!present && !required) console.warn(`skipping AgentDojo trajectory tests: no data at ${ARCHIVE} (set ANIS_REQUIRE_SHARED_DATA=1 to require it)`);

/**
 * The pipelines SOURCE.md lists, with their runs of user tasks (each pipeline also ran AgentDojo's injection tasks
 * alone, as requests: 27 runs in the 2024 logs, 35 in Meta-SecAlign-70B's of 2025, which SOURCE.md does not count).
 */
const PIPELINES: Readonly<Record<string, number>> = {
  "gpt-4o-2024-05-13": 6872,
  "gpt-4o-2024-05-13-tool_filter": 726,
  "gpt-4o-2024-05-13-spotlighting_with_delimiting": 726,
  "gpt-4o-2024-05-13-repeat_user_prompt": 726,
  "gpt-4o-2024-05-13-transformers_pi_detector": 726,
  "Meta-SecAlign-70B": 2944,
  "claude-3-sonnet-20240229-repeat_user_prompt": 40,
  ...Object.fromEntries(
    [
      "claude-3-5-sonnet-20240620",
      "claude-3-5-sonnet-20241022",
      "claude-3-haiku-20240307",
      "claude-3-opus-20240229",
      "claude-3-sonnet-20240229",
      "command-r",
      "command-r-plus",
      "gemini-1.5-flash-001",
      "gemini-1.5-flash-002",
      "gemini-1.5-pro-001",
      "gemini-1.5-pro-002",
      "gemini-2.0-flash-exp",
      "gpt-3.5-turbo-0125",
      "gpt-4-0125-preview",
      "gpt-4-turbo-2024-04-09",
      "gpt-4o-mini-2024-07-18",
      "meta-llama_Llama-3-70b-chat-hf",
    ].map((p) => [p, 726]),
  ),
};

describe.runIf(present || required)("AgentDojo's 25,731 logged runs (shared data)", () => {
  const temp = mkdtempSync(join(tmpdir(), "anis-agentdojo-"));
  let folder: TrajectoryManifest;
  afterAll(() => rmSync(temp, { recursive: true, force: true }));
  beforeAll(async () => {
    // Read in place: the archive streams through the same reader a folder does (import.test.ts shows they agree),
    // without writing 340 MB to a temporary folder first.
    folder = await importTrajectories({ from: ARCHIVE, out: join(temp, "from-folder") });
  }, 300_000);

  const query = async (sql: string) => {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      await connection.run(`CREATE VIEW runs AS SELECT * FROM read_parquet('${join(temp, "from-folder", "runs.parquet")}')`);
      return (await connection.runAndReadAll(sql)).getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  };

  it("imports every log, malformed none", async () => {
    expect(folder.counts).toMatchObject({ files: 25731, runs: 25731, malformed: 0, skipped: 0 });
    const userRuns = await query("SELECT pipeline, count(*) AS runs FROM runs WHERE task_kind = 'user' GROUP BY pipeline");
    expect(Object.fromEntries(userRuns.map((r) => [r.pipeline, r.runs]))).toEqual(PIPELINES);
    expect(Object.values(folder.pipelines).reduce((n, p) => n + p.runs, 0)).toBe(25731);
  });

  it("reproduces AgentDojo's published figures (SOURCE.md) from the run table", async () => {
    const rows = await query(`
      SELECT pipeline,
             round(100 * avg(utility::INT) FILTER (WHERE attack = 'none' AND task_kind = 'user'), 2) AS utility,
             round(100 * avg(utility::INT) FILTER (WHERE attack = 'important_instructions'), 2) AS under_attack,
             round(100 * avg(security::INT) FILTER (WHERE attack = 'important_instructions'), 2) AS asr
      FROM runs WHERE benchmark_version IS NULL GROUP BY pipeline`);
    const of = (p: string) => rows.find((r) => r.pipeline === p);
    expect(of("gpt-4o-2024-05-13")).toMatchObject({ utility: 69.07, under_attack: 50.08, asr: 47.69 });
    expect(of("gpt-4o-2024-05-13-tool_filter")).toMatchObject({ utility: 72.16, under_attack: 56.28, asr: 6.84 });
    expect(of("gpt-4o-2024-05-13-spotlighting_with_delimiting")).toMatchObject({ utility: 72.16, under_attack: 55.64, asr: 41.65 });
    expect(of("gpt-4o-2024-05-13-repeat_user_prompt")).toMatchObject({ utility: 84.54, under_attack: 67.25, asr: 27.82 });
    expect(of("gpt-4o-2024-05-13-transformers_pi_detector")).toMatchObject({ utility: 41.24, under_attack: 21.14, asr: 7.95 });
    expect(of("gpt-4o-mini-2024-07-18")).toMatchObject({ utility: 68.04, asr: 27.19 });
    expect(of("claude-3-5-sonnet-20241022")).toMatchObject({ utility: 79.38, asr: 1.11 });
    const byAttack = await query(`SELECT attack, round(100 * avg(security::INT), 2) AS asr FROM runs WHERE pipeline = 'gpt-4o-2024-05-13' AND injection_task IS NOT NULL GROUP BY attack`);
    expect(Object.fromEntries(byAttack.map((r) => [r.attack, r.asr]))).toMatchObject({ important_instructions: 47.69, tool_knowledge: 34.5, ignore_previous: 5.41, injecagent: 5.72, direct: 3.66 });
  });

  it("finds the planted text in the outputs the models read, and the attacker-value rule agrees with security", async () => {
    // A model that stops early, errs or never calls the tool that holds the text reads no injected output.
    const [carried] = await query("SELECT avg((injected_outputs > 0)::INT) AS share, avg((injected_outputs > 0)::INT) FILTER (WHERE pipeline = 'gpt-4o-2024-05-13') AS gpt4o FROM runs WHERE injection_task IS NOT NULL");
    expect(carried!.share).toBeGreaterThan(0.8);
    expect(carried!.gpt4o).toBeGreaterThan(0.85);
    const all = folder.goal_rule.find((g) => g.suite === "all")!;
    expect(all.runs).toBeGreaterThan(22_000);
    expect(all.agreement).toBeGreaterThan(0.9);
    expect(all.kappa).toBeGreaterThan(0.75);
    expect(folder.pipelines["gpt-4o-2024-05-13-transformers_pi_detector"]!.withheld_outputs).toBe(2138);
  });

  it("calibrate: the shipped profiles are what a fit of these runs gives, and the fit beats a constant rate on runs it did not see", async () => {
    const calibrations = await calibrateAll({ trajectories: join(temp, "from-folder"), models: ["gpt-4o-2024-05-13", "claude-3-5-sonnet-20241022"] });
    const [gpt4o, claude] = calibrations;
    for (const c of [gpt4o!, claude!]) {
      const shipped = readProfileFile(new URL(`${c.profile.name}.json`, PROFILES_DIR));
      expect(c.profile.compliance).toEqual(shipped.compliance);
    }
    const fidelity = gpt4o!.fidelity;
    expect(fidelity.held_out.log_loss).toBeLessThan(fidelity.held_out.baseline_log_loss);
    expect(fidelity.leave_one_attack_out!.overall.log_loss).toBeLessThan(fidelity.leave_one_attack_out!.overall.baseline_log_loss);
    // Delimiting explained in the system prompt: AgentDojo's ×0.87 on ASR, nowhere near the ×0.3 the simulator assumed.
    const { effects } = gpt4o!.profile.compliance as Extract<ProfileFile["compliance"], { kind: "logistic" }>;
    expect(effects.explained_marking.fitted).toBe(true);
    expect(effects.explained_marking.interval![0]).toBeGreaterThan(Math.log(0.3));
    expect(effects.request_repeated.interval![1]).toBeLessThan(0);
    expect(gpt4o!.overall!.predicted_asr).toBeGreaterThan(0.4);
    expect(claude!.overall!.predicted_asr).toBeLessThan(0.03);
  });
});
