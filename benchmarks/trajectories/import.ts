import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlLiteralPath } from "../../analysis/paths.ts";
import { gitState, hashOf } from "../runner/manifest.ts";
import type { Column } from "../runner/tables.ts";
import { rowsOfLog } from "./agentdojo.ts";
import { type Deployment, loadDeployment } from "./deployment.ts";
import { parseLog, placeOf } from "./format.ts";
import { MAX_LOG_BYTES, readSource, TrajectorySourceError } from "./source.ts";
import { MODEL_CALL_COLUMNS, TOOL_OUTPUT_COLUMNS, TRAJECTORY_FILES, TRAJECTORY_RUN_COLUMNS, TRAJECTORY_SCHEMA_VERSION } from "./tables.ts";

export const TRAJECTORY_MANIFEST = "trajectories.json";

/** Counts of one pipeline's import. */
export interface PipelineCounts {
  runs: number;
  errored_runs: number;
  tool_outputs: number;
  injected_outputs: number;
  withheld_outputs: number;
  model_calls: number;
  goal_calls: number;
}

/** Agreement of the attacker-value rule (a goal call in the run) with the source's own `security`, on attacked runs that did not error. */
export interface GoalRuleAgreement {
  readonly suite: string;
  readonly runs: number;
  readonly both: number;
  readonly rule_only: number;
  readonly security_only: number;
  readonly neither: number;
  readonly agreement: number;
  /** Cohen's kappa: agreement beyond what the two rates alone would give. */
  readonly kappa: number | null;
}

/** What `trajectories.json` records: where the rows came from and what the import found. */
export interface TrajectoryManifest {
  readonly kind: "trajectories";
  readonly schema_version: number;
  readonly source: string;
  readonly from: string;
  readonly from_kind: "folder" | "archive" | "file";
  /** SHA-256 over the imported logs (run id and content, in run order): the same logs give the same digest. */
  readonly digest: string;
  readonly deployment_hash: string;
  readonly imported_at: string;
  readonly git: { readonly commit: string | null; readonly dirty: boolean | null };
  readonly counts: { readonly files: number; readonly runs: number; readonly tool_outputs: number; readonly model_calls: number; readonly malformed: number; readonly skipped: number };
  readonly pipelines: Readonly<Record<string, PipelineCounts>>;
  /** Every file that looked like a run log and is not one, with why. */
  readonly malformed: readonly { readonly path: string; readonly problem: string }[];
  /** Every other file, with why it was not read. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
  /** Calls to tools the deployment does not describe, by `suite/tool`: they count as no action. */
  readonly unknown_tools: Readonly<Record<string, number>>;
  readonly goal_rule: readonly GoalRuleAgreement[];
  readonly seconds: number;
  readonly peak_rss_mb: number;
}

/** An NDJSON file of rows, written as they come. */
class RowFile {
  private readonly fd: number;
  private buffer: string[] = [];
  private size = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
  }
  add(row: object): void {
    const line = `${JSON.stringify(row)}\n`;
    this.buffer.push(line);
    this.size += line.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buffer.length > 0) writeSync(this.fd, this.buffer.join(""));
    this.buffer = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

const columnsOf = (columns: readonly Column<unknown>[]) => `{${columns.map((c) => `${c.name}: '${c.type}'`).join(", ")}}`;

/**
 * Imports real agents' runs — AgentDojo's `runs/` layout, as a folder or a tar archive — into trajectory tables in
 * `out` (which must be new or empty): `runs.parquet`, `tool_outputs.parquet`, `model_calls.parquet` and the manifest
 * `trajectories.json`. Files stream through one at a time (rows go to NDJSON, then DuckDB writes sorted Parquet), so
 * memory stays bounded whatever the source's size. A file that is not a run log is named with its problem in the
 * manifest and the returned summary; nothing is skipped silently.
 */
export async function importTrajectories(options: {
  readonly from: string;
  readonly out: string;
  readonly deployment?: Deployment;
  readonly onFile?: (files: number) => void;
}): Promise<TrajectoryManifest> {
  const started = performance.now();
  const deployment = options.deployment ?? loadDeployment();
  const out = options.out;
  if (existsSync(out) && readdirSync(out).length > 0) throw new TrajectorySourceError(`--out ${out} is not empty: an import writes a new folder (nothing already there is overwritten)`);
  mkdirSync(out, { recursive: true });
  const work = join(out, ".import");
  mkdirSync(work, { recursive: true });
  try {
    return await importInto(options.from, out, work, deployment, started, options.onFile);
  } catch (error) {
    // A failed import leaves the folder as it found it: no half-written tables.
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

async function importInto(from: string, out: string, work: string, deployment: Deployment, started: number, onFile?: (files: number) => void): Promise<TrajectoryManifest> {
  const files = {
    runs: new RowFile(join(work, "runs.ndjson")),
    outputs: new RowFile(join(work, "tool_outputs.ndjson")),
    calls: new RowFile(join(work, "model_calls.ndjson")),
  };
  const pipelines: Record<string, PipelineCounts> = {};
  const malformed: { path: string; problem: string }[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const unknownTools: Record<string, number> = {};
  const fileDigests: string[] = [];
  const runIds = new Map<string, string>();
  let seen = 0;
  let peak = process.memoryUsage().rss;

  let fromKind: TrajectoryManifest["from_kind"];
  try {
    fromKind = await readSource(from, (file) => {
      seen++;
      if (seen % 1000 === 0) {
        onFile?.(seen);
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      if ("skipped" in file) return void skipped.push({ path: file.path, reason: file.skipped });
      const place = placeOf(file.path);
      if (!place) return void skipped.push({ path: file.path, reason: "not a run log: expected <pipeline>/<suite>/<user_task>/<attack>/<injection_task>.json" });
      const parsed = parseLog(file.bytes, place);
      if ("problem" in parsed) return void malformed.push({ path: file.path, problem: parsed.problem });
      const rows = rowsOfLog(parsed.log, place, file.path, deployment);
      const first = runIds.get(rows.run.run_id);
      if (first !== undefined) return void malformed.push({ path: file.path, problem: `a second log of run ${rows.run.run_id}, first read from ${first}` });
      runIds.set(rows.run.run_id, file.path);
      // By its place in the layout, so a folder and an archive of it (with or without runs/ above) digest alike.
      fileDigests.push(`${rows.run.run_id}\u0000${createHash("sha256").update(file.bytes).digest("hex")}`);
      files.runs.add(rows.run);
      for (const o of rows.outputs) files.outputs.add(o);
      for (const c of rows.calls) {
        files.calls.add(c);
        if (c.sensitivity === null) unknownTools[`${place.suite}/${c.tool}`] = (unknownTools[`${place.suite}/${c.tool}`] ?? 0) + 1;
      }
      const counts = (pipelines[place.pipeline] ??= { runs: 0, errored_runs: 0, tool_outputs: 0, injected_outputs: 0, withheld_outputs: 0, model_calls: 0, goal_calls: 0 });
      counts.runs++;
      if (rows.run.error !== null) counts.errored_runs++;
      counts.tool_outputs += rows.outputs.length;
      counts.injected_outputs += rows.run.injected_outputs;
      counts.withheld_outputs += rows.outputs.filter((o) => o.withheld).length;
      counts.model_calls += rows.calls.length;
      counts.goal_calls += rows.run.goal_calls;
    });
  } finally {
    for (const f of Object.values(files)) f.close();
  }
  onFile?.(seen);

  const instance = await DuckDBInstance.create(":memory:", { temp_directory: join(work, "spill"), memory_limit: "2GB" });
  const connection = await instance.connect();
  let goalRule: GoalRuleAgreement[];
  try {
    const read = (file: RowFile, columns: readonly Column<unknown>[]) =>
      `read_json(${sqlLiteralPath(file.path)}, format = 'newline_delimited', columns = ${columnsOf(columns)}, maximum_object_size = ${2 * MAX_LOG_BYTES + 1024})`;
    const copy = async (file: RowFile, columns: readonly Column<unknown>[], order: string, target: string) =>
      connection.run(`COPY (SELECT * FROM ${read(file, columns)} ORDER BY ${order}) TO ${sqlLiteralPath(join(work, target))} (FORMAT parquet, COMPRESSION zstd)`);
    await copy(files.runs, TRAJECTORY_RUN_COLUMNS as readonly Column<unknown>[], "run_id", TRAJECTORY_FILES.runs);
    await copy(files.outputs, TOOL_OUTPUT_COLUMNS as readonly Column<unknown>[], "run_id, position", TRAJECTORY_FILES.tool_outputs);
    await copy(files.calls, MODEL_CALL_COLUMNS as readonly Column<unknown>[], "run_id, call_seq", TRAJECTORY_FILES.model_calls);
    goalRule = await goalRuleAgreement(connection, join(work, TRAJECTORY_FILES.runs));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  for (const file of Object.values(TRAJECTORY_FILES)) renameSync(join(work, file), join(out, file));
  rmSync(work, { recursive: true, force: true });

  fileDigests.sort();
  const digest = createHash("sha256").update(fileDigests.join("\n")).digest("hex");
  const totals = Object.values(pipelines);
  const manifest: TrajectoryManifest = {
    kind: "trajectories",
    schema_version: TRAJECTORY_SCHEMA_VERSION,
    source: deployment.file.source,
    from: resolve(from),
    from_kind: fromKind,
    digest,
    deployment_hash: hashOf(deployment.file),
    imported_at: new Date().toISOString(),
    git: gitState(),
    counts: {
      files: seen,
      runs: runIds.size,
      tool_outputs: totals.reduce((n, p) => n + p.tool_outputs, 0),
      model_calls: totals.reduce((n, p) => n + p.model_calls, 0),
      malformed: malformed.length,
      skipped: skipped.length,
    },
    pipelines: Object.fromEntries(Object.entries(pipelines).sort(([a], [b]) => (a < b ? -1 : 1))),
    malformed: malformed.sort((a, b) => (a.path < b.path ? -1 : 1)),
    skipped: skipped.sort((a, b) => (a.path < b.path ? -1 : 1)),
    unknown_tools: Object.fromEntries(Object.entries(unknownTools).sort(([a], [b]) => (a < b ? -1 : 1))),
    goal_rule: goalRule,
    seconds: Math.round(performance.now() - started) / 1000,
    peak_rss_mb: Math.round(Math.max(peak, process.memoryUsage().rss) / 1e6),
  };
  const target = join(out, TRAJECTORY_MANIFEST);
  writeFileSync(`${target}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
  return manifest;
}

/** The attacker-value rule against the source's `security`, per suite and over all, on attacked runs without error. */
async function goalRuleAgreement(connection: Awaited<ReturnType<DuckDBInstance["connect"]>>, runs: string): Promise<GoalRuleAgreement[]> {
  const reader = await connection.runAndReadAll(`
    WITH r AS (SELECT suite, goal_calls > 0 AS rule, security FROM read_parquet(${sqlLiteralPath(runs)}) WHERE injection_task IS NOT NULL AND error IS NULL),
    g AS (
      SELECT coalesce(suite, 'all') AS suite, count(*)::INTEGER AS runs,
             count(*) FILTER (WHERE rule AND security)::INTEGER AS both,
             count(*) FILTER (WHERE rule AND NOT security)::INTEGER AS rule_only,
             count(*) FILTER (WHERE NOT rule AND security)::INTEGER AS security_only,
             count(*) FILTER (WHERE NOT rule AND NOT security)::INTEGER AS neither
      FROM r GROUP BY ROLLUP (suite))
    SELECT * FROM g ORDER BY suite = 'all', suite`);
  return reader.getRowObjectsJS().map((row) => {
    const r = row as unknown as Omit<GoalRuleAgreement, "agreement" | "kappa">;
    const n = r.runs;
    const agreement = n === 0 ? 0 : (r.both + r.neither) / n;
    const expected = n === 0 ? 0 : (((r.both + r.rule_only) / n) * (r.both + r.security_only)) / n + (((r.neither + r.security_only) / n) * (r.neither + r.rule_only)) / n;
    const kappa = n === 0 || expected === 1 ? null : (agreement - expected) / (1 - expected);
    return { ...r, agreement: Math.round(agreement * 1e4) / 1e4, kappa: kappa === null ? null : Math.round(kappa * 1e4) / 1e4 };
  });
}
