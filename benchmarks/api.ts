/**
 * ANIS Bench as a library (`import { runBenchmark, report } from "anis-bench"`): what the CLI does, for a script or
 * a notebook. The installed package is compiled JavaScript with declarations; in the repository, import this file
 * with `tsx` (`node --import tsx my-script.ts`).
 */
import type { Table } from "apache-arrow";
import { rowsToTable } from "../analysis/arrow.ts";
import { computeReport } from "../analysis/report.ts";
import { openResults, queryRows, resolveRunDirs } from "../analysis/results.ts";
import type { OpenAIEndpoint } from "../agents/models/openai.ts";
import { type Family, parseFamily } from "../attacks/families.ts";
import type { Defense } from "../defenses/types.ts";
import { loadRunConfig, type RunConfig, RunConfigError, RunConfigSchema } from "./runner/config.ts";
import type { Shard } from "./runner/matrix.ts";
import { executeRun, type RunSummary } from "./runner/run.ts";

export type { Table } from "apache-arrow";
export type { RunConfig } from "./runner/config.ts";
export type { RunSummary } from "./runner/run.ts";
export type { Defense, DefenseHooks, HookName, HookScope, HookSubjects, Verdict } from "../defenses/types.ts";
export { allow, askApproval, block, quarantine, transform } from "../defenses/types.ts";
export type { Family } from "../attacks/families.ts";
/** Real agents' runs: AgentDojo's logs or our own runs as trajectory tables, replayed through any configuration. */
export { importTrajectories } from "./trajectories/import.ts";
export { exportRun as exportTrajectories } from "./trajectories/export.ts";
export { replayTrajectories } from "./trajectories/replay.ts";
export { computeReplay, type ReplayReport } from "../analysis/replay.ts";
export { loadDefenseConfiguration } from "../defenses/config.ts";

export interface BenchmarkOptions {
  /** A shipped run configuration (`quick`, `default`, `full`, `multiagent`), a file, or a configuration object. */
  readonly config?: string | RunConfig;
  /** Fields that replace the configuration's, as the CLI's flags do (`{ defenses: ["none", "my.json"], cases: [...] }`). */
  readonly overrides?: Partial<RunConfig>;
  /** Folder that receives the run folder (default `results`). */
  readonly out?: string;
  readonly runId?: string;
  /** An OpenAI-compatible endpoint for `openai:*` models. */
  readonly endpoint?: OpenAIEndpoint;
  readonly shard?: Shard;
  readonly workers?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops the run cleanly when aborted: its manifest says `interrupted`, and `anis run --resume` continues it. */
  readonly signal?: AbortSignal;
}

/** Runs a matrix, as `anis run`, and returns where its results are, with their counts and digest. */
export async function runBenchmark(options: BenchmarkOptions = {}): Promise<RunSummary> {
  const base = typeof options.config === "object" ? options.config : loadRunConfig(options.config ?? "default");
  const parsed = RunConfigSchema.safeParse({ ...base, ...options.overrides });
  if (!parsed.success) throw new RunConfigError(`invalid options: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return executeRun({
    config: parsed.data,
    out: options.out ?? "results",
    runId: options.runId,
    endpoint: options.endpoint ?? {},
    shard: options.shard,
    workers: options.workers,
    onProgress: options.onProgress,
    signal: options.signal,
  });
}

export interface ReportOptions {
  /** Break down by `suite`, `agent_system`, `user_task`, `surface`, `family`, `goal`, `split`, `attack_id`. */
  readonly by?: readonly string[];
  readonly baseline?: string;
  readonly includeTraining?: boolean;
  readonly allowMixed?: boolean;
  /** Only the benign episodes of these tasks / the attack episodes of these cases: comma-separated globs over ids. */
  readonly tasks?: string;
  readonly attacks?: string;
}

/** The report of one or many run folders (pooled), one row per (defense, model[, breakdown]), as an Arrow table. */
export async function report(runDirs: readonly string[], options: ReportOptions = {}): Promise<Table> {
  const db = await openResults(resolveRunDirs(runDirs), { baseline: options.baseline, allowMixed: options.allowMixed, checkBaseline: options.baseline !== undefined, tasks: options.tasks, attacks: options.attacks });
  try {
    return rowsToTable(await computeReport(db, options.by ?? [], { includeTraining: options.includeTraining }));
  } finally {
    db.close();
  }
}

/**
 * Any SQL over the run folders' `episodes` and `events` views and the metric views (`analysis/sql/views.sql`), as an
 * Arrow table: `await query(["results/my-run"], "SELECT defense, avg(utility::INT) FROM episodes GROUP BY ALL")`.
 */
export async function query(runDirs: readonly string[], sql: string, options: Pick<ReportOptions, "allowMixed"> = {}): Promise<Table> {
  const db = await openResults(resolveRunDirs(runDirs), { allowMixed: options.allowMixed });
  try {
    return rowsToTable(await queryRows(db.connection, sql));
  } finally {
    db.close();
  }
}

/**
 * A defense layer's factory, typed: export it as a module's default and name the module in a configuration
 * (`{ "use": "module:./my-layer.ts", "params": {...} }`).
 */
export const defineDefense = <P extends Record<string, unknown>>(factory: (params: P) => Defense): ((params: P) => Defense) => factory;

/** A family, checked as a family file is (`attacks/families/*.json`); throws naming every problem. */
export function defineFamily(family: unknown, where = "defineFamily"): Family {
  return parseFamily(JSON.stringify(family), where);
}
