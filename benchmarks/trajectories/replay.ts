import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlLiteralPath } from "../../analysis/paths.ts";
import { isDataError } from "../../analysis/results.ts";
import type { Approver } from "../../defenses/approver.ts";
import { isAlarm } from "../../defenses/audit.ts";
import type { DefenseConfiguration } from "../../defenses/config.ts";
import { DefenseError, DefenseStack } from "../../defenses/stack.ts";
import { type Defense, type HookName, SENSITIVITIES, type ToolDescriptor } from "../../defenses/types.ts";
import { gitState, hashOf } from "../runner/manifest.ts";
import type { Column } from "../runner/tables.ts";
import { type Deployment, forDeployment, loadDeployment } from "./deployment.ts";
import { columnsOf, TRAJECTORY_DEPLOYMENT, TRAJECTORY_MANIFEST, type TrajectoryManifest } from "./writer.ts";
import { TrajectorySourceError } from "./source.ts";
import { TRAJECTORY_FILES } from "./tables.ts";

export const REPLAY_MANIFEST = "replay.json";
export const REPLAY_SCHEMA_VERSION = 1;

/**
 * The human is not in the loop of a replay: an approval request is recorded as a flag and answered yes, so the
 * replay goes on as the real run did and later layers still see the subject.
 */
const RECORDING_APPROVER: Approver = { decide: () => true };

/** A layer asked to re-run the model: a replay has no model in the loop. */
class ReplayUnavailable extends Error {
  constructor() {
    super("replay has no model to re-run");
    this.name = "ReplayUnavailable";
  }
}

/** What a replayed subject got from one configuration: only subjects with an intervention or an error get a row. */
export interface VerdictRow {
  configuration: string;
  run_id: string;
  /** `user_input` rows (position -1) record what a layer did to the request; the shares read the other two. */
  kind: "user_input" | "tool_output" | "model_call";
  position: number;
  call_seq: number | null;
  /** An intervention that costs: a block, a quarantine, an approval request, or a rewrite that removed information. */
  flagged: boolean;
  /** Only rewrites that kept all the information (marking, delimiting, decoding): no flag. */
  rewritten: boolean;
  /** The first costing intervention's verdict, layer, defense and code (else the first rewrite's). */
  verdict: string | null;
  layer: string | null;
  defense: string | null;
  code: string | null;
  /** A layer failed on this subject: an error, never a flag. */
  error: string | null;
}

export const VERDICT_COLUMNS: readonly Column<VerdictRow>[] = [
  { name: "configuration", type: "VARCHAR" },
  { name: "run_id", type: "VARCHAR" },
  { name: "kind", type: "VARCHAR" },
  { name: "position", type: "INTEGER" },
  { name: "call_seq", type: "INTEGER" },
  { name: "flagged", type: "BOOLEAN" },
  { name: "rewritten", type: "BOOLEAN" },
  { name: "verdict", type: "VARCHAR" },
  { name: "layer", type: "VARCHAR" },
  { name: "defense", type: "VARCHAR" },
  { name: "code", type: "VARCHAR" },
  { name: "error", type: "VARCHAR" },
];

/** Hooks a replay calls: what a tool-using agent's runtime calls on the way in and out. */
const REPLAYED_HOOKS: readonly HookName[] = ["onUserInput", "onToolResult", "onContext", "onToolCall"];

/**
 * Why a layer takes no part in a replay, or null when it does: it acts only through the system prompt, none of its
 * hooks is one a single agent's tool use calls, or it re-runs the model (found by a probe: untrusted content, then a
 * call of every risk class, with a replay that is not there).
 */
export async function notReplayable(layer: Defense): Promise<string | null> {
  const hooks = Object.keys(layer.hooks).filter((h) => layer.hooks[h as keyof typeof layer.hooks] !== undefined);
  if (hooks.length === 1 && hooks[0] === "systemPrompt") return "acts only through the system prompt: it needs a model in the loop";
  if (!hooks.some((h) => REPLAYED_HOOKS.includes(h as HookName))) return `its hooks (${hooks.join(", ")}) are never called by a single agent's tool use`;
  const stack = new DefenseStack([layer], RECORDING_APPROVER, { episodeId: "probe", userPrompt: "Please send the quarterly report to the auditor." });
  const scope = stack.scope("agent", [], () => Promise.reject(new ReplayUnavailable()));
  try {
    await stack.check("onUserInput", { text: "Please send the quarterly report to the auditor." }, scope);
    await stack.check("onContext", { kind: "tool_result", content: "Quarterly report: revenue up 4%.", provenance: { source: "tool:probe", trust: "untrusted", agent: "agent" } }, scope);
    for (const sensitivity of SENSITIVITIES) {
      const tool = { name: `probe_${sensitivity}`, description: "probe", sensitivity, source: "trusted" as const, destinationArgs: ["to"] };
      await stack.check("onToolCall", { id: "probe", tool, args: { to: "auditor@example.org" } }, scope);
    }
  } catch (error) {
    if (error instanceof DefenseError && error.cause instanceof ReplayUnavailable) return "re-runs the model on the current step: it needs a model in the loop";
  }
  return null;
}

/** One configuration as replayed: the layers that take part, and those that cannot, with why. */
export interface ReplayedConfiguration {
  readonly name: string;
  readonly description: string;
  readonly hash: string;
  readonly trained_on: readonly string[];
  readonly replayed: readonly string[];
  readonly not_replayed: readonly { readonly layer: string; readonly reason: string }[];
  /** Subjects a layer failed on. */
  readonly errors: number;
}

export interface ReplayManifest {
  readonly kind: "replay";
  readonly schema_version: number;
  readonly trajectories: { readonly dir: string; readonly source: string; readonly digest: string; readonly runs: number };
  readonly deployment_hash: string;
  readonly created_at: string;
  readonly git: { readonly commit: string | null; readonly dirty: boolean | null };
  readonly pipelines: readonly string[] | null;
  readonly configurations: readonly ReplayedConfiguration[];
  /** Per AgentDojo attack: how much of its planted texts our seen split already holds (attacks/leakage.ts). */
  readonly seen_overlap: readonly AttackOverlap[];
  readonly counts: { readonly runs: number; readonly tool_outputs: number; readonly model_calls: number; readonly verdict_rows: number };
  readonly seconds: number;
  readonly peak_rss_mb: number;
}

export interface AttackOverlap {
  readonly attack: string;
  readonly texts: number;
  /** Planted texts sharing a run of LEAK_RUN words with a seen case: what a learned layer may have seen. */
  readonly sharing: number;
  readonly longest_median: number;
}

interface Subject {
  readonly position: number;
  readonly call_seq: number | null;
  readonly kind: VerdictRow["kind"];
  readonly tool: string;
  /** Parsed once per run, not once per configuration. */
  readonly args: Readonly<Record<string, unknown>>;
  readonly text?: string;
}

interface RunToReplay {
  readonly run_id: string;
  readonly suite: string;
  readonly user_prompt: string;
  readonly subjects: Subject[];
}

export function readTrajectoryManifest(dir: string): TrajectoryManifest {
  const file = join(dir, TRAJECTORY_MANIFEST);
  if (!existsSync(file)) throw new TrajectorySourceError(`${dir}: not a trajectory folder (no ${TRAJECTORY_MANIFEST}); import one with \`anis import-trajectories\`, or give replay AgentDojo's runs/ folder or runs.tar.gz`);
  let manifest: TrajectoryManifest;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8")) as TrajectoryManifest;
  } catch (error) {
    throw new TrajectorySourceError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (manifest?.kind !== "trajectories" || typeof manifest.digest !== "string") throw new TrajectorySourceError(`${file}: not a trajectory manifest`);
  for (const f of [...Object.values(TRAJECTORY_FILES), TRAJECTORY_DEPLOYMENT]) if (!existsSync(join(dir, f))) throw new TrajectorySourceError(`${dir}: ${f} is missing`);
  return manifest;
}

/**
 * Replays real trajectories through defense configurations: each run's request goes to `onUserInput`, each tool
 * output (as the tool returned it) to `onToolResult` and `onContext` with the trust the deployment gives the tool,
 * and each call the real model made to `onToolCall` — in the order the run had them, one stack per run and
 * configuration, with the deployment's tools in the scope and the deployment's values in the layers that name them.
 * Each verdict is what the layer would have said at that point had it let everything before through: no model is
 * in the loop, so nothing is a block rate. Writes `verdicts.parquet` and `replay.json` into `out`.
 */
export async function replayTrajectories(options: {
  readonly trajectories: string;
  readonly configurations: readonly DefenseConfiguration[];
  readonly out: string;
  readonly pipelines?: readonly string[];
  readonly seenOverlap?: (texts: readonly string[]) => { longest: number; leaks: boolean };
  readonly onProgress?: (done: number, total: number) => void;
}): Promise<ReplayManifest> {
  const started = performance.now();
  const trajectoryManifest = readTrajectoryManifest(options.trajectories);
  // A replay folder holds the tables it scored: it reads alone, wherever it is copied.
  const tables = join(options.out, "trajectories");
  if (resolve(options.trajectories) !== resolve(tables)) {
    mkdirSync(tables, { recursive: true });
    for (const file of [...Object.values(TRAJECTORY_FILES), TRAJECTORY_MANIFEST, TRAJECTORY_DEPLOYMENT]) copyFileSync(join(options.trajectories, file), join(tables, file));
  }
  // The deployment the tables were read with: the same tools, trust and organisation for the layers.
  const deployment = loadDeployment(join(tables, TRAJECTORY_DEPLOYMENT));
  if (hashOf(deployment.file) !== trajectoryManifest.deployment_hash) {
    throw new TrajectorySourceError(`${join(options.trajectories, TRAJECTORY_DEPLOYMENT)} is not the deployment ${TRAJECTORY_MANIFEST} records: import the source again`);
  }
  const work = join(options.out, ".replay");
  mkdirSync(work, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", { temp_directory: join(work, "spill"), memory_limit: "2GB" });
  const connection = await instance.connect();
  const table = (name: keyof typeof TRAJECTORY_FILES) => `read_parquet(${sqlLiteralPath(join(tables, TRAJECTORY_FILES[name]))})`;
  const rowsPath = join(work, "verdicts.ndjson");
  const rows: string[] = [];
  let rowCount = 0;
  const flush = () => {
    if (rows.length === 0) return;
    writeFileSync(rowsPath, rows.join(""), { flag: "a" });
    rows.length = 0;
  };

  try {
    const known = ((await connection.runAndReadAll(`SELECT DISTINCT pipeline FROM ${table("runs")} ORDER BY pipeline`)).getRowObjectsJS() as { pipeline: string }[]).map((r) => r.pipeline);
    const unknown = (options.pipelines ?? []).filter((p) => !known.includes(p));
    if (unknown.length > 0) throw new TrajectorySourceError(`unknown pipeline "${unknown[0]}" in ${options.trajectories}. Valid pipelines: ${known.join(", ")}`);
    const filter = options.pipelines && options.pipelines.length > 0 ? `WHERE pipeline IN (${options.pipelines.map((p) => `'${p.replaceAll("'", "''")}'`).join(", ")})` : "";
    const groups = (await connection.runAndReadAll(`SELECT suite, pipeline, count(*)::INTEGER AS n FROM ${table("runs")} ${filter} GROUP BY ALL ORDER BY pipeline, suite`)).getRowObjectsJS() as {
      suite: string;
      pipeline: string;
      n: number;
    }[];
    const total = groups.reduce((n, g) => n + g.n, 0);
    const plans = await Promise.all(options.configurations.map(planOf));
    const errors = new Map<string, number>();
    let done = 0;
    let outputs = 0;
    let calls = 0;
    for (const group of groups) {
      const runs = await readGroup(connection, table, group.suite, group.pipeline);
      const tools = deployment.tools(group.suite);
      for (const plan of plans) {
        const layers = forDeployment(plan.configuration, deployment, group.suite).filter((_, i) => plan.keep[i]);
        if (layers.length === 0) continue;
        for (const run of runs) {
          for (const row of await replayRun(run, plan.configuration.name, layers, tools, deployment)) {
            if (row.error !== null) errors.set(plan.configuration.name, (errors.get(plan.configuration.name) ?? 0) + 1);
            rows.push(`${JSON.stringify(row)}\n`);
            rowCount++;
          }
        }
        if (rows.length > 20_000) flush();
      }
      for (const run of runs) for (const s of run.subjects) s.kind === "tool_output" ? outputs++ : calls++;
      done += runs.length;
      options.onProgress?.(done, total);
    }
    flush();
    const target = join(options.out, "verdicts.parquet");
    const source =
      rowCount === 0
        ? `SELECT ${VERDICT_COLUMNS.map((c) => `NULL::${c.type} AS ${c.name}`).join(", ")} WHERE false`
        : `SELECT * FROM read_json(${sqlLiteralPath(rowsPath)}, format = 'newline_delimited', columns = ${columnsOf(VERDICT_COLUMNS as readonly Column<unknown>[])})`;
    await connection.run(`COPY (${source} ORDER BY configuration, run_id, position, call_seq) TO ${sqlLiteralPath(`${target}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`);
    renameSync(`${target}.tmp`, target);
    const seenOverlap = options.seenOverlap ? await overlapByAttack(connection, table, options.seenOverlap) : [];
    const manifest: ReplayManifest = {
      kind: "replay",
      schema_version: REPLAY_SCHEMA_VERSION,
      trajectories: { dir: resolve(options.trajectories), source: trajectoryManifest.source, digest: trajectoryManifest.digest, runs: total },
      deployment_hash: trajectoryManifest.deployment_hash,
      created_at: new Date().toISOString(),
      git: gitState(),
      pipelines: options.pipelines && options.pipelines.length > 0 ? [...options.pipelines] : null,
      configurations: plans.map(({ configuration, keep, reasons }) => ({
        name: configuration.name,
        description: configuration.description,
        hash: hashOf({ spec: configuration.spec }),
        trained_on: configuration.trainedOn,
        replayed: configuration.layers.filter((_, i) => keep[i]).map((l) => l.id),
        not_replayed: configuration.layers.flatMap((l, i) => (reasons[i] === null ? [] : [{ layer: l.id, reason: reasons[i]! }])),
        errors: errors.get(configuration.name) ?? 0,
      })),
      seen_overlap: seenOverlap,
      counts: { runs: total, tool_outputs: outputs, model_calls: calls, verdict_rows: rowCount },
      seconds: Math.round(performance.now() - started) / 1000,
      peak_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6),
    };
    const file = join(options.out, REPLAY_MANIFEST);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
    return manifest;
  } catch (error) {
    if (isDataError(error)) throw new TrajectorySourceError(`${options.trajectories}: a trajectory table is damaged (${String((error as Error).message).split("\n")[0]}); import the source again`);
    throw error;
  } finally {
    connection.closeSync();
    instance.closeSync();
    rmSync(work, { recursive: true, force: true });
  }
}

async function planOf(configuration: DefenseConfiguration) {
  const reasons = await Promise.all(configuration.layers.map(notReplayable));
  return { configuration, reasons, keep: reasons.map((r) => r === null) };
}

type Table = (name: keyof typeof TRAJECTORY_FILES) => string;

/** The runs of one suite and pipeline, each with its tool outputs and calls in conversation order. */
async function readGroup(connection: Awaited<ReturnType<DuckDBInstance["connect"]>>, table: Table, suite: string, pipeline: string): Promise<RunToReplay[]> {
  const runs = (await connection.runAndReadAll(`SELECT run_id, suite, user_prompt FROM ${table("runs")} WHERE suite = $1 AND pipeline = $2 ORDER BY run_id`, [suite, pipeline])).getRowObjectsJS() as {
    run_id: string;
    suite: string;
    user_prompt: string;
  }[];
  const subjects = (
    await connection.runAndReadAll(
      `SELECT o.run_id, o.position, o.call_seq, 'tool_output' AS kind, o.tool, o.args, coalesce(o.tool_text, o.text) AS text
       FROM ${table("tool_outputs")} o JOIN ${table("runs")} r USING (run_id) WHERE r.suite = $1 AND r.pipeline = $2
       UNION ALL
       SELECT c.run_id, c.position, c.call_seq, 'model_call' AS kind, c.tool, c.args, NULL AS text
       FROM ${table("model_calls")} c JOIN ${table("runs")} r USING (run_id) WHERE r.suite = $1 AND r.pipeline = $2
       ORDER BY run_id, position, call_seq`,
      [suite, pipeline],
    )
  ).getRowObjectsJS() as unknown as (Omit<Subject, "args" | "text"> & { run_id: string; args: string; text: string | null })[];
  const byRun = new Map(runs.map((r) => [r.run_id, { ...r, subjects: [] as Subject[] }]));
  for (const { run_id, args, text, ...subject } of subjects) byRun.get(run_id)?.subjects.push({ ...subject, args: JSON.parse(args) as Record<string, unknown>, text: text ?? undefined });
  return [...byRun.values()];
}

/** A tool the deployment does not describe (a model called a tool its suite lacks): what it returned reads as untrusted. */
const unknownTool = (name: string): ToolDescriptor => ({ name, description: "", sensitivity: "read", source: "untrusted", destinationArgs: [] });

async function replayRun(run: RunToReplay, configuration: string, layers: readonly Defense[], tools: readonly ToolDescriptor[], deployment: Deployment): Promise<VerdictRow[]> {
  const stack = new DefenseStack(layers, RECORDING_APPROVER, { episodeId: run.run_id, userPrompt: run.user_prompt, system: { name: "single", agents: ["agent"], protocol: "delegation" } });
  const scope = stack.scope("agent", tools, () => Promise.reject(new ReplayUnavailable()));
  const out: VerdictRow[] = [];
  const suite = run.suite;
  const verdictOf = (subject: Subject, from: number, error: string | null): void => {
    const entries = stack.audit.entries.slice(from);
    if (entries.length === 0 && error === null) return;
    const alarm = entries.find(isAlarm);
    const first = alarm ?? entries[0];
    out.push({
      configuration,
      run_id: run.run_id,
      kind: subject.kind,
      position: subject.position,
      call_seq: subject.call_seq,
      flagged: alarm !== undefined,
      rewritten: alarm === undefined && entries.length > 0,
      verdict: first?.verdict ?? null,
      layer: first?.layer ?? null,
      defense: first?.defense ?? null,
      code: first?.code ?? null,
      error,
    });
  };
  const guarded = async (subject: Subject, check: () => Promise<unknown>) => {
    const from = stack.audit.entries.length;
    try {
      await check();
      verdictOf(subject, from, null);
    } catch (error) {
      if (!(error instanceof DefenseError)) throw error;
      verdictOf(subject, from, error.cause instanceof ReplayUnavailable ? `${error.defense} needs a model in the loop` : error.message);
    }
  };
  await guarded({ kind: "user_input", position: -1, call_seq: null, tool: "", args: {} }, () => stack.check("onUserInput", { text: run.user_prompt }, scope));
  for (const subject of run.subjects) {
    const descriptor = deployment.tool(suite, subject.tool);
    const call = { id: `call-${subject.call_seq ?? subject.position}`, tool: descriptor ?? unknownTool(subject.tool), args: subject.args };
    if (subject.kind === "model_call") {
      // A call to a tool the suite does not have did nothing: there is no action to judge.
      if (descriptor) await guarded(subject, () => stack.check("onToolCall", call, scope));
      continue;
    }
    const content = subject.text ?? "";
    const provenance = { source: `tool:${subject.tool}`, trust: call.tool.source, agent: "agent" };
    await guarded(subject, async () => {
      const result = await stack.check("onToolResult", { call, content, provenance }, scope);
      if (result.passed) await stack.check("onContext", { kind: "tool_result", content: result.content ?? content, provenance, call }, scope);
    });
  }
  return out;
}

/** How much of each attack's planted texts the seen split already holds. */
async function overlapByAttack(
  connection: Awaited<ReturnType<DuckDBInstance["connect"]>>,
  table: Table,
  measure: (texts: readonly string[]) => { longest: number; leaks: boolean },
): Promise<AttackOverlap[]> {
  const planted = (await connection.runAndReadAll(`SELECT DISTINCT attack, injections FROM ${table("runs")} WHERE injection_task IS NOT NULL ORDER BY attack, injections`)).getRowObjectsJS() as {
    attack: string;
    injections: string;
  }[];
  const byAttack = new Map<string, { longest: number; leaks: boolean }[]>();
  for (const { attack, injections } of planted) {
    const texts = Object.values(JSON.parse(injections) as Record<string, string>);
    let list = byAttack.get(attack);
    if (!list) byAttack.set(attack, (list = []));
    list.push(measure(texts));
  }
  return [...byAttack].map(([attack, measured]) => {
    const longest = measured.map((m) => m.longest).sort((a, b) => a - b);
    return { attack, texts: measured.length, sharing: measured.filter((m) => m.leaks).length, longest_median: longest[Math.floor((longest.length - 1) / 2)] ?? 0 };
  });
}
