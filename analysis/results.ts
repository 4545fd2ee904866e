import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { isRunId, RUN_ID_RULE, sqlLiteralPath } from "./paths.ts";

/** A run folder that cannot be read: missing, or without results. CLI exit code 2. */
export class ResultsError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "ResultsError";
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const VIEWS = readFileSync(new URL("./sql/views.sql", import.meta.url), "utf8");
/** The statistics macros (Wilson bounds, rates) every analysis shares. */
export const STATS = readFileSync(new URL("./sql/stats.sql", import.meta.url), "utf8");

/** What a run folder's manifest says about how its numbers can be reproduced (see benchmarks/runner/manifest.ts). */
export interface RunManifest {
  readonly run_id: string;
  readonly created_at: string;
  readonly status: string;
  readonly git: { readonly commit: string | null; readonly dirty: boolean };
  readonly config: { readonly name: string; readonly sample?: number | null; readonly split?: string | null; readonly attacks?: string; readonly benign?: boolean; readonly only_outside?: boolean };
  readonly config_hash: string;
  readonly defenses: readonly {
    readonly name: string;
    readonly hash: string;
    /** Who answered approval requests (since schema 3); older runs recorded an error rate only. */
    readonly approver?:
      | { readonly kind: "ideal" }
      | { readonly kind: "flip"; readonly error_rate: number }
      | { readonly kind: "human"; readonly approve_unneeded: number; readonly approve_unneeded_max: number; readonly refuse_needed: number; readonly habituation: number };
    readonly approver_error_rate?: number;
    /** The attack splits the configuration's learned layers were trained on (since issue 16; older runs: unknown). */
    readonly trained_on?: readonly string[];
  }[];
  readonly models: readonly { readonly name: string }[];
  readonly corpus: { readonly cases: number; readonly hash: string };
  readonly seeds: readonly number[];
  /** A hash of the source that decides outcomes (benchmarks/runner/manifest.ts; runs before issue 25 have none). */
  readonly source_hash?: string;
  /** The suites and the hash of each one's tasks and world. */
  readonly suites?: readonly { readonly name: string; readonly hash: string; readonly world: string }[];
  readonly packages: Readonly<Record<string, string>>;
  readonly counts?: { readonly episodes: number; readonly errors: number };
}

/** An embedded DuckDB with `episodes` and `events` views over one or many run folders, and the metric views. */
export interface ResultsDatabase {
  readonly connection: DuckDBConnection;
  readonly runDirs: readonly string[];
  /** Each run folder's manifest, by run folder. */
  readonly manifests: ReadonlyMap<string, RunManifest>;
  /** Runs pooled with `allowMixed` though they differ: each run id with what it is on the fields that differ. */
  readonly mixed: ReadonlyMap<string, string> | null;
  close(): void;
}

const isRunDir = (dir: string) => existsSync(join(dir, "episodes.parquet"));

/**
 * Run folders named by the arguments: a run folder itself, a folder of run folders (`results/`), or a pattern
 * with `*` in its last part (`results/2026*-default`). Runs from several machines pool by copying their folders
 * side by side.
 */
export function resolveRunDirs(args: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const arg of args) {
    if (basename(arg).includes("*")) {
      const parent = dirname(arg);
      const pattern = new RegExp(`^${basename(arg).split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
      const matched = existsSync(parent) ? readdirSync(parent).filter((n) => pattern.test(n)).map((n) => join(parent, n)).filter(isRunDir) : [];
      if (matched.length === 0) throw new ResultsError(`${arg}: matches no run folder`);
      dirs.push(...matched.sort());
    } else if (!isRunDir(arg) && existsSync(arg) && statSync(arg).isDirectory()) {
      const inside = readdirSync(arg).map((n) => join(arg, n)).filter(isRunDir).sort();
      dirs.push(...(inside.length > 0 ? inside : [arg]));
    } else {
      dirs.push(arg);
    }
  }
  return [...new Set(dirs)];
}

/** The fields every reader relies on; a run folder may come from anyone, so each is checked before use. */
export function manifestProblems(m: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const object = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isRunId(m.run_id)) problems.push(`run_id ${JSON.stringify(m.run_id)}: ${RUN_ID_RULE}`);
  for (const k of ["created_at", "status", "config_hash"]) if (typeof m[k] !== "string") problems.push(`${k} is not a string`);
  if (!object(m.git)) problems.push("git is not an object");
  if (!object(m.config) || typeof m.config.name !== "string") problems.push("config.name is not a string");
  if (!object(m.corpus) || typeof m.corpus.hash !== "string") problems.push("corpus.hash is not a string");
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  const defenseOk = (d: unknown) =>
    object(d) && typeof d.name === "string" && typeof d.hash === "string" && (d.trained_on === undefined || strings(d.trained_on)) && (d.approver === undefined || object(d.approver));
  if (!Array.isArray(m.defenses) || !m.defenses.every(defenseOk)) problems.push("defenses is not a list of { name, hash, trained_on?, approver? }");
  if (m.packages !== undefined && !object(m.packages)) problems.push("packages is not an object");
  if (m.counts !== undefined && !object(m.counts)) problems.push("counts is not an object");
  if (!Array.isArray(m.models) || !m.models.every((x) => object(x) && typeof x.name === "string")) problems.push("models is not a list of { name }");
  if (!Array.isArray(m.seeds) || !m.seeds.every((x) => typeof x === "number")) problems.push("seeds is not a list of numbers");
  if (m.source_hash !== undefined && typeof m.source_hash !== "string") problems.push("source_hash is not a string");
  if (m.suites !== undefined && !(Array.isArray(m.suites) && m.suites.every((x) => object(x) && typeof x.name === "string" && typeof x.hash === "string"))) problems.push("suites is not a list of { name, hash }");
  return problems;
}

function readManifest(dir: string): RunManifest {
  const file = join(dir, "manifest.json");
  if (!existsSync(file)) throw new ResultsError(`${dir}: no manifest.json, so its numbers cannot be traced to a commit, corpus and configuration`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ResultsError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const problems = manifest !== null && typeof manifest === "object" && !Array.isArray(manifest) ? manifestProblems(manifest as Record<string, unknown>) : ["not a JSON object"];
  if (problems.length > 0) throw new ResultsError(`${file}: not a run manifest: ${problems.join("; ")}`);
  return manifest as RunManifest;
}

/** Each result file must be Parquet that DuckDB can open: a truncated or foreign file is named, not a stack trace. */
async function checkResultFiles(connection: DuckDBConnection, runDirs: readonly string[]): Promise<void> {
  for (const dir of runDirs) {
    for (const name of ["episodes.parquet", "events.parquet"]) {
      const file = join(dir, name);
      if (!existsSync(file)) throw new ResultsError(`${file}: missing; a run folder holds episodes.parquet and events.parquet as \`anis run\` writes them`);
      try {
        await connection.run(`SELECT count(*) FROM parquet_metadata(${sqlLiteralPath(file)})`);
      } catch (error) {
        throw new ResultsError(`${file}: not a readable Parquet file (${firstLine(error)}); the run folder is damaged: copy it again, or rerun it`);
      }
    }
  }
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!;

/**
 * What a run's numbers rest on besides its configurations, field by field: the code that decided its outcomes and
 * which episodes it ran (sample, seeds, split, attack selection, benign tasks or not). Pooled runs must agree on
 * every one: shards do, and so do runs of other configurations or models made the same way.
 */
function runBasis(m: RunManifest): Record<string, string> {
  return {
    code: m.source_hash === undefined ? "unrecorded" : `${m.source_hash}${m.git.commit ? ` (commit ${m.git.commit.slice(0, 7)})` : ""}`,
    sample: String(m.config.sample ?? "all"),
    seeds: m.seeds.join(","),
    split: String(m.config.split ?? "all"),
    attacks: m.config.attacks ?? "*",
    benign: String(m.config.benign ?? true),
    only_outside: String(m.config.only_outside ?? false),
  };
}

/**
 * Runs pool only when their numbers mean the same thing: one attack corpus, one definition per configuration and
 * per suite name, and one basis (code, sample, seeds, selection). Returns the reasons they do not, empty when they
 * pool, and the basis fields that differ.
 */
function poolingDifferences(manifests: ReadonlyMap<string, RunManifest>): { conflicts: string[]; fields: string[] } {
  const conflicts: string[] = [];
  const byValue = (key: string, pairs: Iterable<readonly [string, string, string]>) => {
    const groups = new Map<string, Map<string, string[]>>();
    for (const [name, value, dir] of pairs) {
      const byHash = groups.get(name) ?? new Map<string, string[]>();
      byHash.set(value, [...(byHash.get(value) ?? []), dir]);
      groups.set(name, byHash);
    }
    for (const [name, values] of groups) {
      if (values.size > 1) conflicts.push(`${key.replace("%s", name)}: ${[...values].map(([value, dirs]) => `${value} (${dirs.join(", ")})`).join(" vs ")}`);
    }
  };
  const entries = [...manifests];
  byValue("the runs were made on different attack corpora", entries.map(([dir, m]) => ["", m.corpus.hash, dir] as const));
  byValue('configuration "%s" differs between runs', entries.flatMap(([dir, m]) => m.defenses.map((d) => [d.name, d.hash, dir] as const)));
  byValue('suite "%s" differs between runs', entries.flatMap(([dir, m]) => (m.suites ?? []).map((x) => [x.name, `${x.hash}/${x.world}`, dir] as const)));
  const fields: string[] = [];
  for (const field of Object.keys(runBasis(entries[0]![1]))) {
    const before = conflicts.length;
    byValue(`the runs differ in ${field}`, entries.map(([dir, m]) => ["", runBasis(m)[field]!, dir] as const));
    if (conflicts.length > before) fields.push(field);
  }
  return { conflicts, fields };
}

/**
 * Episode columns added since schema 1, with what an older run folder reads as: no tokens and no price (schema 2);
 * every intervention an alarm and no count of rewrites (schema 3: older runs did not tell a rewrite that kept the
 * information from one that removed it, so their autoimmunity stays as it was measured and their rewrite rate is
 * unknown).
 */
const COLUMNS_SINCE_SCHEMA_1: readonly (readonly [string, string])[] = [
  ["input_tokens", "0"],
  ["output_tokens", "0"],
  ["cached_calls", "0"],
  ["cost_usd", "NULL::DOUBLE"],
  ["alarms", "interventions"],
  ["rewrites", "NULL::INTEGER"],
  ["first_alarm_layer", "first_layer"],
  ["first_alarm_defense", "first_defense"],
];

/**
 * Opens run folders (several machines' folders merge by listing them side by side). Each must hold
 * `episodes.parquet` and `events.parquet` as the runner writes them.
 */
export async function openResults(
  runDirs: readonly string[],
  /**
   * `checkBaseline`: the user named the baseline, so it must be a configuration of these runs. `tasks` and `attacks`:
   * comma-separated globs (`*` a wildcard) keeping only the benign episodes of those tasks and the attack episodes
   * of those cases — one's own work in a run that also holds the shipped corpus.
   */
  options: { baseline?: string; allowMixed?: boolean; checkBaseline?: boolean; tasks?: string; attacks?: string } = {},
): Promise<ResultsDatabase> {
  if (runDirs.length === 0) throw new ResultsError("no run folder given: pass one or more results/<run-id> folders");
  for (const dir of runDirs) {
    if (!isRunDir(dir)) {
      throw new ResultsError(`${dir}: not a finished run folder (no episodes.parquet). A run folder is results/<run-id>/ as written by \`anis run\`.`);
    }
  }
  const manifests = new Map(runDirs.map((dir) => [dir, readManifest(dir)]));
  const names = [...new Set([...manifests.values()].flatMap((m) => m.defenses.map((d) => d.name)))].sort();
  if (options.checkBaseline && options.baseline !== undefined && !names.includes(options.baseline)) {
    throw new ResultsError(`--baseline ${options.baseline}: no such configuration in these runs; valid: ${names.join(", ")}`);
  }
  const { conflicts, fields } = poolingDifferences(manifests);
  if (conflicts.length > 0 && !options.allowMixed) {
    throw new ResultsError(`refusing to pool these runs: ${conflicts.join("; ")}. Report them separately, or pass --allow-mixed to pool anyway (each row then says what differs among the runs it pools).`);
  }
  const mixed = fields.length > 0 ? new Map([...manifests.values()].map((m) => [m.run_id, fields.map((f) => `${f} ${runBasis(m)[f]}`).join(", ")])) : null;
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await checkResultFiles(connection, runDirs);
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw error;
  }
  try {
    await createViews(connection, runDirs, manifests, options);
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw dataError(error);
  }
  return {
    connection,
    runDirs,
    manifests,
    mixed,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Globs over ids as SQL: DuckDB's GLOB, whose `?` and `[` are escaped so that only `*` is a wildcard. */
const globsSql = (column: string, globs: string) =>
  `(${globs
    .split(",")
    .map((g) => g.trim())
    .filter((g) => g.length > 0)
    .map((g) => `${column} GLOB ${sqlString(g.replace(/[?[\]]/g, (c) => `[${c}]`))}`)
    .join(" OR ") || "false"})`;

async function createViews(connection: DuckDBConnection, runDirs: readonly string[], manifests: ReadonlyMap<string, RunManifest>, options: { baseline?: string; tasks?: string; attacks?: string }): Promise<void> {
  // Literal paths: DuckDB would expand `?`, `*` and `[` in a folder's name and read other runs.
  const list = (file: string) => `[${runDirs.map((d) => sqlLiteralPath(join(d, file))).join(", ")}]`;
  const kept = [options.tasks !== undefined && `(attack_id IS NOT NULL OR ${globsSql("user_task", options.tasks)})`, options.attacks !== undefined && `(attack_id IS NULL OR ${globsSql("attack_id", options.attacks)})`].filter(Boolean);
  const where = kept.length > 0 ? ` WHERE ${kept.join(" AND ")}` : "";
  await connection.run(`CREATE VIEW episodes AS SELECT * FROM read_parquet(${list("episodes.parquet")}, union_by_name = true)${where}`);
  const present = new Set((await queryRows(connection, "SELECT column_name FROM (DESCRIBE episodes)")).map((r) => String(r.column_name)));
  const missing = COLUMNS_SINCE_SCHEMA_1.filter(([name]) => !present.has(name));
  if (missing.length > 0) {
    const defaults = missing.map(([name, value]) => `${value} AS ${name}`).join(", ");
    await connection.run(`CREATE OR REPLACE VIEW episodes AS SELECT *, ${defaults} FROM read_parquet(${list("episodes.parquet")}, union_by_name = true)${where}`);
  }
  const events = `SELECT * FROM read_parquet(${list("events.parquet")}, union_by_name = true)`;
  await connection.run(`CREATE VIEW events AS ${where ? `${events} WHERE episode_id IN (SELECT episode_id FROM episodes)` : events}`);
  if (runDirs.length > 1) {
    // Pooled runs must be disjoint (shards, other configurations): an episode in two runs would count twice.
    const [overlap] = await queryRows(connection, "SELECT count(*) - count(DISTINCT episode_id) AS n FROM episodes");
    if (Number(overlap?.n) > 0) {
      throw new ResultsError(`refusing to pool these runs: ${overlap!.n} episodes appear in more than one of them, and would count twice. Pool disjoint runs (shards, other configurations or models), or report each run alone.`);
    }
  }
  // Which splits each configuration learned from: its block rate there is a training score (views.sql).
  await connection.run("CREATE TABLE training (defense VARCHAR, split VARCHAR)");
  const trained = [...new Set([...manifests.values()].flatMap((m) => m.defenses.flatMap((d) => (d.trained_on ?? []).map((s) => `(${sqlString(d.name)}, ${sqlString(s)})`))))];
  if (trained.length > 0) await connection.run(`INSERT INTO training VALUES ${trained.join(", ")}`);
  await connection.run(`SET VARIABLE baseline = ${sqlString(options.baseline ?? "none")}`);
  await connection.run(STATS);
  await connection.run(VIEWS);
}

/**
 * DuckDB's errors about the data it reads (a damaged Parquet page, bytes that are not text, a value out of range) as
 * bad input: our queries are fixed, so such an error is the run folder's, not the code's.
 */
function dataError(error: unknown): Error {
  return isDataError(error) ? new ResultsError(`cannot read the results: ${firstLine(error)}; a run folder is damaged: copy it again, or rerun it`) : (error as Error);
}

/** Whether DuckDB failed on the data it read (a damaged file), not on our query. */
export const isDataError = (error: unknown): boolean => /^(IO|Invalid Input|Conversion|Out of Range|Serialization|Invalid) Error/.test(firstLine(error));

/** Rows as plain objects, BIGINTs as numbers. A result file that breaks mid-read is named as bad input. */
export async function queryRows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql).catch((error: unknown) => {
    throw dataError(error);
  });
  return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
}
