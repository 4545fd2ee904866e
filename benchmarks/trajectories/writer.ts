import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlLiteralPath } from "../../analysis/paths.ts";
import { gitState, hashOf } from "../runner/manifest.ts";
import type { Column } from "../runner/tables.ts";
import type { LogRows } from "./rows.ts";
import type { Deployment } from "./deployment.ts";
import { TrajectorySourceError } from "./source.ts";
import { MODEL_CALL_COLUMNS, TOOL_OUTPUT_COLUMNS, TRAJECTORY_FILES, TRAJECTORY_RUN_COLUMNS, TRAJECTORY_SCHEMA_VERSION } from "./tables.ts";

export const TRAJECTORY_MANIFEST = "trajectories.json";
/** The deployment a trajectory folder was read with, kept beside its tables: a replay uses the same. */
export const TRAJECTORY_DEPLOYMENT = "deployment.json";

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
  add(line: string): void {
    this.buffer.push(line);
    this.size += line.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buffer.length > 0) writeSync(this.fd, this.buffer.join(""));
    this.buffer = [];
    this.size = 0;
  }
  private closed = false;
  close(): void {
    if (this.closed) return;
    this.flush();
    closeSync(this.fd);
    this.closed = true;
  }
}

/**
 * The longest row DuckDB is asked to read, written out: its JSON reader holds buffers of twice this per thread, so it
 * bounds the import's memory. A run with a longer row (one tool output of megabytes) is refused by name.
 */
export const MAX_ROW_CHARS = 16 * 1024 * 1024;
const lineOf = (row: object) => `${JSON.stringify(row)}\n`;

/** A table's columns as DuckDB's `read_json` takes them. */
export const columnsOf = (columns: readonly Column<unknown>[]) => `{${columns.map((c) => `${c.name}: '${c.type}'`).join(", ")}}`;
const byPath = <T extends { path: string }>(a: T, b: T) => (a.path < b.path ? -1 : 1);
const sortedKeys = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * Writes trajectory tables into a new or empty folder, whatever their source: rows stream to NDJSON as runs come,
 * then DuckDB writes sorted Parquet, so memory stays bounded. `finish` writes the manifest last; `abort` leaves the
 * folder as it found it.
 */
export class TrajectoryWriter {
  private readonly work: string;
  private readonly files: { runs: RowFile; outputs: RowFile; calls: RowFile };
  private readonly pipelines: Record<string, PipelineCounts> = {};
  private readonly unknownTools: Record<string, number> = {};
  private readonly digests: string[] = [];
  private readonly runIds = new Map<string, string>();
  private readonly started = performance.now();

  constructor(
    private readonly out: string,
    private readonly deployment: Deployment,
  ) {
    if (existsSync(out) && readdirSync(out).length > 0) throw new TrajectorySourceError(`--out ${out} is not empty: trajectory tables go to a new folder (nothing already there is overwritten)`);
    this.work = join(out, ".import");
    mkdirSync(this.work, { recursive: true });
    this.files = { runs: new RowFile(join(this.work, "runs.ndjson")), outputs: new RowFile(join(this.work, "tool_outputs.ndjson")), calls: new RowFile(join(this.work, "model_calls.ndjson")) };
  }

  /** Adds one run's rows; returns why not when the run is already there (`where` names both copies). */
  add(rows: LogRows, where: string, contentHash: string): string | null {
    const first = this.runIds.get(rows.run.run_id);
    if (first !== undefined) return `a second log of run ${rows.run.run_id}, first read from ${first}`;
    const lines = { run: lineOf(rows.run), outputs: rows.outputs.map(lineOf), calls: rows.calls.map(lineOf) };
    const longest = Math.max(lines.run.length, ...lines.outputs.map((l) => l.length), ...lines.calls.map((l) => l.length));
    if (longest > MAX_ROW_CHARS) return `a row of ${longest} characters once written out, over the importer's limit of ${MAX_ROW_CHARS}`;
    this.runIds.set(rows.run.run_id, where);
    this.digests.push(`${rows.run.run_id}\u0000${contentHash}`);
    this.files.runs.add(lines.run);
    for (const line of lines.outputs) this.files.outputs.add(line);
    for (const line of lines.calls) this.files.calls.add(line);
    for (const c of rows.calls) {
      const key = `${rows.run.suite}/${c.tool}`;
      if (c.sensitivity === null) this.unknownTools[key] = (this.unknownTools[key] ?? 0) + 1;
    }
    const counts = (this.pipelines[rows.run.pipeline] ??= { runs: 0, errored_runs: 0, tool_outputs: 0, injected_outputs: 0, withheld_outputs: 0, model_calls: 0, goal_calls: 0 });
    counts.runs++;
    if (rows.run.error !== null) counts.errored_runs++;
    counts.tool_outputs += rows.outputs.length;
    counts.injected_outputs += rows.run.injected_outputs;
    counts.withheld_outputs += rows.outputs.filter((o) => o.withheld).length;
    counts.model_calls += rows.calls.length;
    counts.goal_calls += rows.run.goal_calls;
    return null;
  }

  /** Writes the Parquet tables, the deployment and the manifest; returns the manifest. */
  async finish(origin: {
    readonly from: string;
    readonly fromKind: TrajectoryManifest["from_kind"];
    readonly files: number;
    readonly malformed: { path: string; problem: string }[];
    readonly skipped: { path: string; reason: string }[];
  }): Promise<TrajectoryManifest> {
    for (const f of Object.values(this.files)) f.close();
    const instance = await DuckDBInstance.create(":memory:", { temp_directory: join(this.work, "spill"), memory_limit: "384MB", threads: "1" });
    const connection = await instance.connect();
    let goalRule: GoalRuleAgreement[];
    try {
      // Runs are sorted by id; outputs and calls stream through in the order their runs came (each run's in its own
      // order): sorting 300 MB of text would cost more memory than the rest of the import. Readers order by run_id.
      const copy = async (file: RowFile, columns: readonly Column<unknown>[], order: string, target: string) =>
        connection.run(
          `COPY (SELECT * FROM read_json(${sqlLiteralPath(file.path)}, format = 'newline_delimited', columns = ${columnsOf(columns)}, maximum_object_size = ${MAX_ROW_CHARS + 1024}) ${order})
           TO ${sqlLiteralPath(join(this.work, target))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 8192)`,
        );
      await copy(this.files.runs, TRAJECTORY_RUN_COLUMNS as readonly Column<unknown>[], "ORDER BY run_id", TRAJECTORY_FILES.runs);
      await copy(this.files.outputs, TOOL_OUTPUT_COLUMNS as readonly Column<unknown>[], "", TRAJECTORY_FILES.tool_outputs);
      await copy(this.files.calls, MODEL_CALL_COLUMNS as readonly Column<unknown>[], "", TRAJECTORY_FILES.model_calls);
      goalRule = await goalRuleAgreement(connection, join(this.work, TRAJECTORY_FILES.runs));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    for (const file of Object.values(TRAJECTORY_FILES)) renameSync(join(this.work, file), join(this.out, file));
    writeFileSync(join(this.out, TRAJECTORY_DEPLOYMENT), `${JSON.stringify(this.deployment.file, null, 2)}\n`);
    rmSync(this.work, { recursive: true, force: true });
    const totals = Object.values(this.pipelines);
    const manifest: TrajectoryManifest = {
      kind: "trajectories",
      schema_version: TRAJECTORY_SCHEMA_VERSION,
      source: this.deployment.file.source,
      from: origin.from,
      from_kind: origin.fromKind,
      digest: createHash("sha256").update(this.digests.sort().join("\n")).digest("hex"),
      deployment_hash: hashOf(this.deployment.file),
      imported_at: new Date().toISOString(),
      git: gitState(),
      counts: {
        files: origin.files,
        runs: this.runIds.size,
        tool_outputs: totals.reduce((n, p) => n + p.tool_outputs, 0),
        model_calls: totals.reduce((n, p) => n + p.model_calls, 0),
        malformed: origin.malformed.length,
        skipped: origin.skipped.length,
      },
      pipelines: sortedKeys(this.pipelines),
      malformed: [...origin.malformed].sort(byPath),
      skipped: [...origin.skipped].sort(byPath),
      unknown_tools: sortedKeys(this.unknownTools),
      goal_rule: goalRule,
      seconds: Math.round(performance.now() - this.started) / 1000,
      // The process's high-water mark: DuckDB's sort included.
      peak_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6),
    };
    const target = join(this.out, TRAJECTORY_MANIFEST);
    writeFileSync(`${target}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(`${target}.tmp`, target);
    return manifest;
  }

  /** Leaves the folder as it was found: no half-written tables. */
  abort(): void {
    for (const f of Object.values(this.files)) f.close();
    rmSync(this.work, { recursive: true, force: true });
  }
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
