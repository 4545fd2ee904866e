import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import { addRequestStats, type RequestStats } from "../../agents/models/resilient-fetch.ts";
import { corpusHash } from "../corpus.ts";
import type { EpisodeDriver } from "./campaign-runner.ts";
import { type RunConfig, RunConfigError, RunConfigSchema } from "./config.ts";
import { finishJournal, recoverJournal } from "./journal.ts";
import { gitState, hashOf, packageVersions, writeManifest } from "./manifest.ts";
import { buildMatrix, type ResolvedRun, resolveRun, type Shard } from "./matrix.ts";
import { runPool, workerCount } from "./pool.ts";

export { inShard } from "./matrix.ts";

export interface RunOptions {
  readonly config: RunConfig;
  /** Folder that receives `<run-id>/`. */
  readonly out: string;
  readonly runId?: string;
  readonly endpoint: OpenAIEndpoint;
  /** Called after each campaign with episodes done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Run only shard `index` (1-based) of `count`: N machines each run one, and their folders pool in `report`. */
  readonly shard?: Shard;
  /** Worker threads, over the configuration's `workers`. */
  readonly workers?: number;
  /** How episodes run (default `langgraph`); the perf benchmark measures the others. Same results. */
  readonly driver?: EpisodeDriver;
}

export interface ResumeOptions {
  /** The run folder of a run that was killed or failed. */
  readonly dir: string;
  readonly endpoint: OpenAIEndpoint;
  readonly onProgress?: (done: number, total: number) => void;
  readonly workers?: number;
}

export interface RunSummary {
  readonly runId: string;
  readonly dir: string;
  readonly episodes: number;
  readonly errors: number;
  /** This session's wall-clock seconds, and its episodes per second. */
  readonly seconds: number;
  readonly episodesPerSecond: number;
  /** Campaigns found already done in the journal (a resumed run), and torn lines redone. */
  readonly resumed: { readonly campaigns: number; readonly tornLines: number } | null;
  readonly requests: RequestStats;
  readonly digest: { readonly episodes: string; readonly events: string };
}

/** A session of a run: one process's part of its life, from start or resume to end. */
interface Session {
  readonly started_at: string;
  finished_at?: string;
  workers: number;
  campaigns_found_done: number;
  torn_lines_redone: number;
  campaigns_run?: number;
  episodes_run?: number;
  seconds?: number;
  episodes_per_second?: number;
}

type Manifest = Record<string, unknown> & { sessions: Session[]; config: RunConfig; run_id: string; shard: string | null };

type SessionOptions = Pick<RunOptions, "config" | "endpoint" | "shard" | "workers" | "driver" | "onProgress">;

/** A run folder's manifest, for resuming it. */
export function readRunManifest(dir: string): Manifest {
  const file = join(dir, "manifest.json");
  if (!existsSync(file)) throw new RunConfigError(`cannot resume ${dir}: no manifest.json there (is it a run folder?)`);
  return JSON.parse(readFileSync(file, "utf8")) as Manifest;
}

function fingerprint(run: ResolvedRun) {
  return {
    // The approver is part of a configuration: its errors move the numbers, so it is in the hash.
    defenses: run.defenses.map((d) => ({ name: d.name, file: d.file, layers: d.spec, approver: d.approver, trained_on: d.trainedOn, hash: hashOf({ layers: d.spec, approver: d.approver }) })),
    models: run.models.map((m) => ({ name: m.name, kind: m.kind, params: m.params })),
    suites: run.suites.map((s) => ({ name: s.name, version: s.version, tasks: s.tasks.length, hash: hashOf(s.tasks) })),
    corpus: { cases: run.corpus.length, hash: corpusHash(run.corpus), selected: run.cases.length },
  };
}

/** Runs a matrix and records its results in `<out>/<run-id>/`. Bad names fail before anything is written. */
export async function executeRun(options: RunOptions): Promise<RunSummary> {
  const { config, endpoint, shard } = options;
  const run = resolveRun(config, endpoint);
  const matrix = buildMatrix(config, run, shard);
  const shardSuffix = shard ? `-shard${shard.index}of${shard.count}` : "";
  const runId = options.runId ?? `${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${config.name}${shardSuffix}`;
  const dir = join(options.out, runId);
  if (existsSync(join(dir, "manifest.json"))) throw new RunConfigError(`${dir} already holds a run: resume it with --resume ${dir}, or choose another --run-id`);
  mkdirSync(dir, { recursive: true });
  const manifest: Manifest = {
    run_id: runId,
    created_at: new Date().toISOString(),
    status: "running",
    git: gitState(),
    config,
    config_hash: hashOf(config),
    ...fingerprint(run),
    seeds: Array.from({ length: config.seeds }, (_, i) => i + 1),
    packages: packageVersions(),
    planned: { campaigns: matrix.length, episodes: matrix.reduce((n, c) => n + c.tasks.length, 0) },
    shard: shard ? `${shard.index}/${shard.count}` : null,
    sessions: [],
  };
  writeManifest(dir, manifest);
  return runSession(dir, manifest, run, matrix, { ...options, shard });
}

/**
 * Continues a run that was killed or failed: the journal says which campaigns are done (a torn last line is
 * dropped and its campaign redone); the rest run; the results equal an uninterrupted run's. The corpus, defenses
 * and suites must be what they were, or the run would mix two benchmarks.
 */
export async function resumeRun(options: ResumeOptions): Promise<RunSummary> {
  const manifest = readRunManifest(options.dir);
  if (manifest.status === "complete") throw new RunConfigError(`cannot resume ${options.dir}: the run is already complete (${String((manifest.counts as { episodes?: number })?.episodes ?? 0)} episodes); report it, or start a new run`);
  const config = RunConfigSchema.parse(manifest.config);
  const shard = parseShard(manifest.shard);
  const run = resolveRun(config, options.endpoint);
  const now = fingerprint(run);
  const changed = (["corpus", "defenses", "suites"] as const).filter((k) => hashOf(now[k]) !== hashOf(manifest[k]));
  if (changed.length > 0) throw new RunConfigError(`cannot resume ${options.dir}: the ${changed.join(", ")} changed since the run started; start a new run`);
  const matrix = buildMatrix(config, run, shard);
  return runSession(options.dir, { ...manifest, sessions: manifest.sessions ?? [] }, run, matrix, { ...options, config, shard });
}

const parseShard = (text: string | null): Shard | undefined => {
  if (!text) return undefined;
  const [index, count] = text.split("/").map(Number);
  return { index: index!, count: count! };
};

async function runSession(
  dir: string,
  manifest: Manifest,
  run: ResolvedRun,
  matrix: ReturnType<typeof buildMatrix>,
  options: SessionOptions,
): Promise<RunSummary> {
  const unlock = lockRun(dir);
  try {
    return await runLocked(dir, manifest, run, matrix, options);
  } finally {
    unlock();
  }
}

/** One process at a time per run folder: a second would append to the same journal. A killed holder's lock is stale. */
function lockRun(dir: string): () => void {
  const file = join(dir, "run.lock");
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, "utf8"));
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) throw new RunConfigError(`${dir} is being run by process ${pid}: wait for it to finish or stop it, then resume`);
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function runLocked(
  dir: string,
  manifest: Manifest,
  run: ResolvedRun,
  matrix: ReturnType<typeof buildMatrix>,
  options: SessionOptions,
): Promise<RunSummary> {
  const journal = recoverJournal(dir);
  const total = matrix.reduce((n, c) => n + c.tasks.length, 0);
  let episodes = 0;
  const errorCodes: Record<string, number> = {};
  const count = (outcome: { episodes: number; errorCodes: Record<string, number> }) => {
    episodes += outcome.episodes;
    for (const [code, n] of Object.entries(outcome.errorCodes)) errorCodes[code] = (errorCodes[code] ?? 0) + n;
  };
  for (const outcome of journal.done.values()) count(outcome);
  const pending = matrix.flatMap((c, i) => (journal.done.has(c.id) ? [] : [i]));
  const workers = options.workers ?? workerCount(options.config);
  const driver = options.driver ?? "langgraph";
  const session: Session = { started_at: new Date().toISOString(), workers, campaigns_found_done: journal.done.size, torn_lines_redone: journal.tornLines };
  manifest.sessions.push(session);
  manifest.status = "running";
  writeManifest(dir, manifest);

  const started = performance.now();
  let campaignsRun = 0;
  let episodesRun = 0;
  options.onProgress?.(episodes, total);
  const { failure, requests } = await runPool({
    config: options.config,
    endpoint: options.endpoint,
    runId: manifest.run_id,
    dir,
    shard: options.shard,
    matrix,
    models: run.models,
    pending,
    session: journal.files,
    workers,
    driver,
    onDone: (outcome) => {
      campaignsRun++;
      episodesRun += outcome.episodes;
      count(outcome);
      options.onProgress?.(episodes, total);
    },
  });
  const digest = failure === null ? await finishJournal(dir) : null;
  const seconds = (performance.now() - started) / 1000;
  Object.assign(session, {
    finished_at: new Date().toISOString(),
    campaigns_run: campaignsRun,
    episodes_run: episodesRun,
    seconds: round(seconds, 3),
    episodes_per_second: round(episodesRun / Math.max(seconds, 1e-9), 1),
  });
  const previous = manifest.requests as RequestStats | undefined;
  const errors = Object.values(errorCodes).reduce((a, b) => a + b, 0);
  writeManifest(dir, {
    ...manifest,
    status: failure === null ? "complete" : "failed",
    failure: failure === null ? undefined : `${failure.message}\nresume with: anis run --resume ${dir}`,
    finished_at: session.finished_at,
    counts: { episodes, errors },
    throughput: {
      driver,
      seconds: round(seconds, 3),
      episodes_per_second: session.episodes_per_second,
      workers,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    },
    failures: { episodes_by_error: errorCodes },
    requests: previous ? addRequestStats(structuredClone(previous), requests) : requests,
    digest: digest ?? undefined,
  });
  if (failure !== null) throw failure;
  return {
    runId: manifest.run_id,
    dir,
    episodes,
    errors,
    seconds,
    episodesPerSecond: episodesRun / Math.max(seconds, 1e-9),
    resumed: manifest.sessions.length > 1 ? { campaigns: journal.done.size, tornLines: journal.tornLines } : null,
    requests,
    digest: digest!,
  };
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

