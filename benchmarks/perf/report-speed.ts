/**
 * How fast the analysis is: writes N synthetic episode rows (default 1,000,000) as a run folder, then times
 * `report` (the full metric set with Wilson intervals), a breakdown by surface, layer attribution and a paired
 * comparison, each over the whole table. A benchmark, not a test: `npm run perf:report [-- ROWS]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { computeAttribution, computePaired, computeReport } from "../../analysis/report.ts";
import { openResults } from "../../analysis/results.ts";

const rows = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), "anis-perf-report-"));
const DEFENSES = ["none", "l0", "l1", "l2", "l3", "l4", "l5", "tower", "ifc", "masked-reexecution"];

// Shaped like a real run: 10 configurations × 2 models; per configuration, 85% attack episodes (2-episode
// campaigns for a fifth of them) and 15% benign ones; outcomes drawn from hashes so every rate is in (0, 1).
const started = performance.now();
const instance = await DuckDBInstance.create(":memory:");
const db = await instance.connect();
await db.run(`
COPY (
  WITH base AS (
    SELECT i, i % 20 AS cell, i // 20 AS unit, hash(i) AS h FROM range(${rows}) t(i)
  )
  SELECT 'perf' AS run_id, 'e' || i AS episode_id,
         'c' || cell || '-' || (unit // 2) AS campaign_id,
         (unit % 2)::INTEGER AS campaign_pos, 2::INTEGER AS campaign_len,
         ['workspace', 'finance', 'devops'][1 + (unit // 2) % 3] AS suite,
         ['single', 'supervisor'][1 + (unit // 6) % 2] AS agent_system,
         't' || (unit // 2) AS user_task,
         (unit // 2) % 7 = 0 AS hard_negative,
         CASE WHEN (unit // 2) % 100 < 85 THEN 'a' || (unit // 2) END AS attack_id,
         CASE WHEN (unit // 2) % 100 < 85 THEN ['tool_output', 'memory', 'peer_message', 'rag_document', 'tool_description'][1 + (unit // 2) % 5] END AS surface,
         CASE WHEN (unit // 2) % 100 < 85 THEN 'family' || (unit // 2) % 12 END AS family,
         CASE WHEN (unit // 2) % 100 < 85 THEN 'goal' || (unit // 2) % 6 END AS goal,
         CASE WHEN (unit // 2) % 100 < 85 THEN ['seen', 'near', 'far'][1 + (unit // 2) % 3] END AS split,
         ${JSON.stringify(DEFENSES).replaceAll('"', "'")}[1 + cell % 10] AS defense,
         ['sim:obedient', 'sim:typical'][1 + cell // 10] AS model,
         1::INTEGER AS seed,
         h % 100 < 95 AS utility,
         CASE WHEN (unit // 2) % 100 < 85 THEN h % 100 < CASE WHEN cell % 10 = 0 THEN 90 ELSE 30 - cell % 10 * 2 END END AS attack_success,
         (h // 100 % 4)::INTEGER AS interventions, (h // 400 % 2)::INTEGER AS approvals, 0::INTEGER AS approvals_denied,
         (h // 800 % 2)::INTEGER AS stops,
         CASE WHEN h // 100 % 4 > 0 THEN 'L' || h // 1600 % 6 END AS first_layer, NULL::VARCHAR AS first_defense,
         CASE WHEN h // 800 % 2 = 1 THEN 'L' || h // 1600 % 6 END AS first_stop_layer, NULL::VARCHAR AS first_stop_defense,
         CASE WHEN h % 1000 = 7 THEN 'model_error' END AS error, NULL::VARCHAR AS error_message,
         (4 + h % 8)::INTEGER AS steps, (2 + h % 4)::INTEGER AS model_calls, (2 + h % 4)::INTEGER AS tool_calls,
         (h % 50)::DOUBLE AS duration_ms, (h % 500)::DOUBLE AS defense_us
  FROM base
) TO '${join(dir, "episodes.parquet")}' (FORMAT parquet)`);
await db.run(`COPY (SELECT 'perf' AS run_id, 'e0' AS episode_id, 0 AS seq, 'assistant' AS agent, 'error' AS kind LIMIT 0) TO '${join(dir, "events.parquet")}' (FORMAT parquet)`);
db.closeSync();
instance.closeSync();
writeFileSync(
  join(dir, "manifest.json"),
  JSON.stringify({ run_id: "perf", created_at: new Date().toISOString(), status: "complete", git: { commit: null, dirty: false }, config: { name: "perf" }, config_hash: "perf", defenses: DEFENSES.map((name) => ({ name, hash: name })), models: [], corpus: { cases: 0, hash: "perf" }, seeds: [1], packages: {} }),
);
console.log(`wrote ${rows.toLocaleString("en")} synthetic episode rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  const result = await fn();
  console.log(`${label.padEnd(44)} ${((performance.now() - t) / 1000).toFixed(2)} s`);
  return result;
};
const total = performance.now();
const results = await timed("open (views over Parquet)", () => openResults([dir]));
const report = await timed("report (every metric, Wilson intervals)", () => computeReport(results));
await timed("report --by surface", () => computeReport(results, ["surface"]));
await timed("report --attribution", () => computeAttribution(results));
await timed("compare l1 vs tower (McNemar, Newcombe)", () => computePaired(results, "l1", "tower"));
results.close();
console.log(`${report.length} report rows; open + report: see above; all analyses: ${((performance.now() - total) / 1000).toFixed(2)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
rmSync(dir, { recursive: true, force: true });
