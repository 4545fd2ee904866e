import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isRunId, RUN_ID_RULE, runIdPart, runStamp } from "../../analysis/paths.ts";
import { manifestProblems } from "../../analysis/results.ts";
import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import { addRequestStats, type RequestStats } from "../../agents/models/resilient-fetch.ts";
import { loadConfigurationLayers } from "../../defenses/config.ts";
import { protectFolders } from "../../defenses/sandbox/bundle.ts";
import { corpusHash } from "../corpus.ts";
import type { EpisodeDriver } from "./campaign-runner.ts";
import { privateFolders, type RunConfig, RunConfigError, RunConfigSchema } from "./config.ts";
import { finishJournal, type JournalDrops, recoverJournal, reopenJournal } from "./journal.ts";
import { acquireRunLock } from "./lock.ts";
import { gitState, hashOf, packageVersions, sourceHash, writeManifest } from "./manifest.ts";
import { buildMatrix, type ResolvedRun, resolveRun, type Shard } from "./matrix.ts";
import { makeOutputDir, OutputError, storageProblem } from "../../analysis/output.ts";
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
  /** Stops the run cleanly: campaigns in flight are dropped, the manifest says `interrupted`, and it can be resumed. */
  readonly signal?: AbortSignal;
}

export interface ResumeOptions {
  /** The run folder of a run that was killed or failed. */
  readonly dir: string;
  readonly endpoint: OpenAIEndpoint;
  readonly onProgress?: (done: number, total: number) => void;
  readonly workers?: number;
  /** Run again every campaign with an errored episode, the run complete or not; the manifest keeps the history. */
  readonly retryErrors?: boolean;
  /** Take over a run folder whose lock names a process that cannot be told from a live holder (another machine, a reused pid). */
  readonly forceUnlock?: boolean;
  readonly signal?: AbortSignal;
}

/** A run stopped by a signal; its manifest says `interrupted` and how to resume. */
export class RunInterrupted extends Error {
  constructor(
    readonly dir: string,
    readonly reason: string,
  ) {
    super(`${reason}: stopped ${dir}; the finished campaigns are kept. Resume with: anis run --resume ${dir}`);
    this.name = "RunInterrupted";
  }
}

export interface RunSummary {
  readonly runId: string;
  readonly dir: string;
  readonly episodes: number;
  readonly errors: number;
  /** Errored episodes by error code. */
  readonly errorsByCode: Readonly<Record<string, number>>;
  /** This session's wall-clock seconds, and its episodes per second. */
  readonly seconds: number;
  readonly episodesPerSecond: number;
  /** Campaigns found already done in the journal (a resumed run), and the lines dropped, by reason. */
  readonly resumed: { readonly campaigns: number; readonly tornLines: number; readonly dropped: JournalDrops } | null;
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
  /** Journal lines dropped by reason (torn, corrupt, repeated, unknown campaign, errored when retrying errors). */
  lines_dropped?: JournalDrops;
  retry_errors?: boolean;
  campaigns_run?: number;
  episodes_run?: number;
  seconds?: number;
  episodes_per_second?: number;
}

type Manifest = Record<string, unknown> & { sessions: Session[]; config: RunConfig; run_id: string; shard: string | null };

type SessionOptions = Pick<RunOptions, "config" | "endpoint" | "shard" | "workers" | "driver" | "onProgress" | "signal"> & Pick<ResumeOptions, "retryErrors">;

/** A run folder's manifest, for resuming it: checked, because a run folder may come from anyone. */
export function readRunManifest(dir: string): Manifest {
  const file = join(dir, "manifest.json");
  if (!existsSync(file)) throw new RunConfigError(`cannot resume ${dir}: no manifest.json there (is it a run folder?)`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
  } catch (error) {
    throw new RunConfigError(`cannot resume ${dir}: ${file} is not valid JSON (${(error as Error).message})`);
  }
  // What every reader of a run folder checks, and what resuming needs besides: the suites it ran.
  const object = manifest !== null && typeof manifest === "object" && !Array.isArray(manifest);
  const problems = object ? [...manifestProblems(manifest), ...(Array.isArray(manifest.suites) ? [] : ["suites is not a list"])] : ["not a JSON object"];
  if (problems.length > 0) throw new RunConfigError(`cannot resume ${dir}: ${file} is not a run manifest: ${problems.join("; ")}`);
  return manifest;
}

function fingerprint(run: ResolvedRun) {
  return {
    // The approver is part of a configuration: its errors move the numbers, so it is in the hash.
    defenses: run.defenses.map((d) => ({ name: d.name, file: d.file, layers: d.spec, approver: d.approver, trained_on: d.trainedOn, hash: hashOf({ layers: d.spec, approver: d.approver }) })),
    models: run.models.map((m) => ({ name: m.name, kind: m.kind, params: m.params })),
    // The tasks and the world they start from: tasks from outside the repository change both.
    suites: run.suites.map((s) => ({ name: s.name, version: s.version, tasks: s.tasks.length, hash: hashOf(s.tasks), world: hashOf(s.fixture()) })),
    corpus: { cases: run.corpus.length, hash: corpusHash(run.corpus), selected: run.cases.length },
  };
}

/** Runs a matrix and records its results in `<out>/<run-id>/`. Bad names fail before anything is written. */
export async function executeRun(options: RunOptions): Promise<RunSummary> {
  const { config, endpoint, shard } = options;
  protectFolders(privateFolders(config, options.out));
  await loadConfigurationLayers(config.defenses);
  const run = resolveRun(config, endpoint);
  const matrix = buildMatrix(config, run, shard);
  const shardSuffix = shard ? `-shard${shard.index}of${shard.count}` : "";
  if (options.runId !== undefined && !isRunId(options.runId)) throw new RunConfigError(`--run-id ${JSON.stringify(options.runId)}: ${RUN_ID_RULE}`);
  const runId = options.runId ?? `${runStamp()}-${runIdPart(config.name)}${shardSuffix}`;
  const dir = join(options.out, runId);
  const taken = () => new RunConfigError(`${dir} already holds a run: resume it with --resume ${dir}, or choose another --run-id`);
  if (existsSync(join(dir, "manifest.json"))) throw taken();
  makeOutputDir(options.out, runId);
  const release = storing(dir, () => acquireRunLock(dir));
  try {
    // Another process may have started this folder between the look above and the lock.
    if (existsSync(join(dir, "manifest.json"))) throw taken();
    const manifest = newManifest(runId, config, run, matrix, shard);
    storing(dir, () => writeManifest(dir, manifest));
    return await runSession(dir, manifest, run, matrix, { ...options, shard });
  } finally {
    release();
  }
}

function newManifest(runId: string, config: RunConfig, run: ResolvedRun, matrix: ReturnType<typeof buildMatrix>, shard: Shard | undefined): Manifest {
  return {
    run_id: runId,
    created_at: new Date().toISOString(),
    status: "running",
    git: gitState(),
    source_hash: sourceHash(),
    config,
    config_hash: hashOf(config),
    ...fingerprint(run),
    seeds: Array.from({ length: config.seeds }, (_, i) => i + 1),
    packages: packageVersions(),
    planned: { campaigns: matrix.length, episodes: matrix.reduce((n, c) => n + c.tasks.length, 0) },
    shard: shard ? `${shard.index}/${shard.count}` : null,
    sessions: [],
  };
}

/**
 * Continues a run that was killed or failed: the journal says which campaigns are done (a torn last line is
 * dropped and its campaign redone); the rest run; the results equal an uninterrupted run's. The corpus, defenses
 * and suites must be what they were, or the run would mix two benchmarks.
 */
export async function resumeRun(options: ResumeOptions): Promise<RunSummary> {
  readRunManifest(options.dir);
  const release = storing(options.dir, () => acquireRunLock(options.dir, { force: options.forceUnlock ?? false }));
  try {
    return await resumeLocked(options);
  } finally {
    release();
  }
}

/** What {@link resumeRun} does once it holds the folder: the manifest is read again, as its last holder left it. */
async function resumeLocked(options: ResumeOptions): Promise<RunSummary> {
  const manifest = readRunManifest(options.dir);
  const counts = manifest.counts as { episodes?: number; errors?: number } | undefined;
  if (manifest.status === "complete" && !options.retryErrors) {
    const errors = counts?.errors ?? 0;
    throw new RunConfigError(
      `cannot resume ${options.dir}: the run is already complete (${counts?.episodes ?? 0} episodes, ${errors} errors); ${errors > 0 ? `run its errored campaigns again with --resume ${options.dir} --retry-errors, ` : ""}report it, or start a new run`,
    );
  }
  const parsed = RunConfigSchema.safeParse(manifest.config);
  if (!parsed.success) throw new RunConfigError(`cannot resume ${options.dir}: its manifest's config is not a run configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const config = parsed.data;
  const shard = parseShard(manifest.shard, options.dir);
  protectFolders(privateFolders(config, dirname(resolve(options.dir))));
  await loadConfigurationLayers(config.defenses);
  if (manifest.sessions !== undefined && !Array.isArray(manifest.sessions)) throw new RunConfigError(`cannot resume ${options.dir}: its manifest's sessions is not a list`);
  const run = resolveRun(config, options.endpoint);
  const now = fingerprint(run);
  const changed = (["corpus", "defenses", "suites"] as const).filter((k) => hashOf(now[k]) !== hashOf(manifest[k])).map((k) => `the ${k}`);
  const source = sourceHash();
  if (manifest.source_hash !== source) {
    const commits = `commit ${(manifest.git as { commit?: string | null } | undefined)?.commit ?? "unknown"} → ${gitState().commit ?? "unknown"}`;
    changed.unshift(typeof manifest.source_hash === "string" ? `the code (source ${manifest.source_hash} → ${source}, ${commits})` : "the code (the run's manifest records no source hash: it was made by an older version)");
  }
  if (changed.length > 0) throw new RunConfigError(`cannot resume ${options.dir}: ${changed.join("; ")} changed since the run started, and its episodes would mix two benchmarks; start a new run`);
  const matrix = buildMatrix(config, run, shard);
  return runSession(options.dir, { ...manifest, sessions: manifest.sessions ?? [] }, run, matrix, { ...options, config, shard });
}

function parseShard(text: unknown, dir: string): Shard | undefined {
  if (text === null || text === undefined) return undefined;
  const match = typeof text === "string" ? /^(\d{1,6})\/(\d{1,6})$/.exec(text) : null;
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (index < 1 || index > count) throw new RunConfigError(`cannot resume ${dir}: its manifest's shard ${JSON.stringify(text)} is not I/N with 1 ≤ I ≤ N`);
  return { index, count };
}

async function runSession(
  dir: string,
  manifest: Manifest,
  run: ResolvedRun,
  matrix: ReturnType<typeof buildMatrix>,
  options: SessionOptions,
): Promise<RunSummary> {
  // A complete run retried: its results go back into the journal, so the campaigns without errors are kept.
  if (options.retryErrors && manifest.status === "complete") await reopenJournal(dir).catch((error: unknown) => Promise.reject(asStorageFailure(dir, error)));
  const planned = new Map(matrix.map((c) => [c.id, c.tasks.length]));
  const journal = recoverJournal(dir, planned, { dropErrored: options.retryErrors ?? false });
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
  const session: Session = {
    started_at: new Date().toISOString(),
    workers,
    campaigns_found_done: journal.done.size,
    torn_lines_redone: journal.tornLines,
    lines_dropped: journal.dropped,
    ...(options.retryErrors && { retry_errors: true }),
  };
  manifest.sessions.push(session);
  manifest.status = "running";
  storing(dir, () => writeManifest(dir, manifest));

  const started = performance.now();
  let campaignsRun = 0;
  let episodesRun = 0;
  options.onProgress?.(episodes, total);
  const pool = await runPool({
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
    signal: options.signal,
    onDone: (outcome) => {
      campaignsRun++;
      episodesRun += outcome.episodes;
      count(outcome);
      options.onProgress?.(episodes, total);
    },
  });
  const { requests } = pool;
  let failure: Error | null = options.signal?.aborted ? new RunInterrupted(dir, String(options.signal.reason ?? "stopped")) : pool.failure;
  let digest: { episodes: string; events: string } | null = null;
  let finalDrops: JournalDrops | undefined;
  if (failure === null) {
    // Complete means every planned campaign has a whole record on disk: the journal decides, not what was reported.
    const recorded = storing(dir, () => recoverJournal(dir, planned, { headersOnly: true }));
    finalDrops = recorded.dropped;
    episodes = 0;
    for (const key of Object.keys(errorCodes)) delete errorCodes[key];
    for (const outcome of recorded.done.values()) count(outcome);
    const missing = matrix.filter((c) => !recorded.done.has(c.id));
    if (missing.length > 0) {
      failure = new Error(`${missing.length} of ${matrix.length} planned campaigns have no whole record in the journal (${missing.slice(0, 3).map((c) => c.id).join(", ")}${missing.length > 3 ? ", …" : ""}); they run on resume`);
    } else {
      try {
        digest = await finishJournal(dir);
      } catch (error) {
        failure = error as Error;
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  Object.assign(session, {
    finished_at: new Date().toISOString(),
    campaigns_run: campaignsRun,
    episodes_run: episodesRun,
    seconds: round(seconds, 3),
    episodes_per_second: round(episodesRun / Math.max(seconds, 1e-9), 1),
    ...(pool.workerDeaths.length > 0 && { worker_deaths: pool.workerDeaths }),
    ...(finalDrops && Object.values(finalDrops).some((n) => n > 0) && { lines_dropped_at_end: finalDrops }),
  });
  const previous = manifest.requests as RequestStats | undefined;
  const errors = Object.values(errorCodes).reduce((a, b) => a + b, 0);
  const problem = failure === null || failure instanceof RunInterrupted ? null : storageProblem(failure);
  const status = failure === null ? "complete" : failure instanceof RunInterrupted ? "interrupted" : "failed";
  // The last write may be refused too: the journal still holds everything, and the manifest stays as it was.
  let written: string | null = null;
  try {
    writeManifest(dir, {
      ...manifest,
      status,
      failure: failure === null || failure instanceof RunInterrupted ? undefined : `${problem ?? failure.message}\nresume with: anis run --resume ${dir}`,
      interrupted_by: failure instanceof RunInterrupted ? failure.reason : undefined,
      resume: status === "complete" ? undefined : `anis run --resume ${dir}`,
      finished_at: session.finished_at,
      counts: { episodes, errors },
      planned: manifest.planned,
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
  } catch (error) {
    written = storageProblem(error);
    if (written === null) throw error;
  }
  if (problem !== null || written !== null) throw storageFailure(dir, problem ?? written!);
  if (failure !== null) throw failure;
  return {
    runId: manifest.run_id,
    dir,
    episodes,
    errors,
    errorsByCode: errorCodes,
    seconds,
    episodesPerSecond: episodesRun / Math.max(seconds, 1e-9),
    resumed: manifest.sessions.length > 1 ? { campaigns: journal.done.size, tornLines: journal.tornLines, dropped: journal.dropped } : null,
    requests,
    digest: digest!,
  };
}

/** The storage refused a write: one line naming the folder and what to do; the journal keeps what was done. */
const storageFailure = (dir: string, problem: string) =>
  new OutputError(`cannot write to ${dir}: ${problem}. What is recorded is kept: free space or make the folder writable, then resume with: anis run --resume ${dir}`);

/** A refusal by the storage as {@link storageFailure}; any other error as it is. */
function asStorageFailure(dir: string, error: unknown): unknown {
  const problem = storageProblem(error);
  return problem === null ? error : storageFailure(dir, problem);
}

/** Runs a write; a refusal by the storage becomes {@link storageFailure}. */
function storing<T>(dir: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    throw asStorageFailure(dir, error);
  }
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

