import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import type { ModelHandle } from "../../agents/models/registry.ts";
import { addRequestStats, emptyRequestStats, type RequestStats } from "../../agents/models/resilient-fetch.ts";
import { CampaignRunner, type EpisodeDriver, type JobOutcome, prepareDriver } from "./campaign-runner.ts";
import type { RunConfig } from "./config.ts";
import { cpuQuota } from "./cpu-quota.ts";
import type { Campaign } from "./episode.ts";
import { JOURNAL_DIR } from "./journal.ts";
import type { Shard } from "./matrix.ts";
import type { ToWorker, WorkerSetup } from "./worker.ts";

export type { WorkerSetup } from "./worker.ts";

export const requestStatsOf = (models: readonly ModelHandle[]): RequestStats =>
  models.reduce((sum, m) => (m.requests ? addRequestStats(sum, m.requests) : sum), emptyRequestStats());

/**
 * `auto`: a thread per CPU this process may use (the cores, or fewer under a cgroup CPU quota: a pod's limit) for
 * the CPU-bound simulated model; one thread for endpoints, whose waiting `concurrency` covers.
 */
export function workerCount(config: RunConfig, quota: number | null = cpuQuota()): number {
  if (config.workers !== "auto") return config.workers;
  if (!config.models.every((m) => m.startsWith("sim:"))) return 1;
  return Math.max(1, Math.min(availableParallelism(), quota === null ? Infinity : Math.floor(quota)));
}

export interface PoolOptions {
  readonly config: RunConfig;
  readonly endpoint: OpenAIEndpoint;
  readonly runId: string;
  readonly dir: string;
  readonly shard?: Shard;
  readonly matrix: readonly Campaign[];
  readonly models: readonly ModelHandle[];
  /** Indices into the matrix still to run. */
  readonly pending: readonly number[];
  /** Numbers this session's journal files, so they never append to a file a killed session left. */
  readonly session: number;
  readonly workers: number;
  readonly driver: EpisodeDriver;
  readonly onDone: (outcome: JobOutcome) => void;
  /** Stops the pool: no campaign starts after it, and those in flight are dropped (they are not in the journal). */
  readonly signal?: AbortSignal;
  /** How a worker thread starts; by default on worker.ts. A test starts one that dies. */
  readonly startWorker?: (setup: WorkerSetup) => Worker;
}

export interface PoolResult {
  readonly failure: Error | null;
  readonly requests: RequestStats;
  /** Worker threads that ended without finishing their campaigns, and how their campaigns were dealt with. */
  readonly workerDeaths: readonly string[];
}

/** A campaign in flight on a worker that dies runs again on a fresh one; one that was on two dying workers fails the run. */
const DEATHS_PER_CAMPAIGN = 2;

const journalFile = (options: PoolOptions, worker: number) =>
  join(options.dir, JOURNAL_DIR, `s${String(options.session).padStart(3, "0")}-w${String(worker).padStart(2, "0")}.ndjson`);

/** Runs the pending campaigns: in this thread when one worker is asked for, else on worker threads. */
export function runPool(options: PoolOptions): Promise<PoolResult> {
  return options.workers <= 1 || options.pending.length <= 1 ? runInProcess(options) : runOnThreads(options);
}

async function runInProcess(options: PoolOptions): Promise<PoolResult> {
  await prepareDriver(options.driver);
  return new Promise((resolve) => {
    let failure: Error | null = null;
    const finish = () => resolve({ failure, requests: requestStatsOf(options.models), workerDeaths: [] });
    const runner = new CampaignRunner(options.matrix, options.runId, journalFile(options, 0), options.config.concurrency, options.driver, {
      done: options.onDone,
      failed: (error) => (failure ??= error),
      idle: finish,
    });
    // Campaigns in flight cannot be cut short in this thread: the runner records nothing more, and the pool returns.
    options.signal?.addEventListener("abort", () => {
      runner.abandon();
      finish();
    }, { once: true });
    for (const index of options.pending) runner.submit({ index, id: options.matrix[index]!.id });
    runner.stop();
  });
}

/**
 * Each worker builds the matrix itself and is fed campaign indices, a few ahead of what it is running. The pool
 * knows which campaigns each worker holds: a worker that ends before it reported them all (it exited, crashed or ran
 * out of memory) is replaced, and what it held runs again on the new one.
 */
async function runOnThreads(options: PoolOptions): Promise<PoolResult> {
  const requests = emptyRequestStats();
  if (options.signal?.aborted) return { failure: null, requests, workerDeaths: [] };
  const queue = [...options.pending];
  const deaths = new Map<number, number>();
  const workerDeaths: string[] = [];
  let failure: Error | null = null;
  let stopped = false;
  const ahead = options.config.concurrency + 1;
  const start = options.startWorker ?? spawnWorker;
  const live = new Set<Worker>();
  let started = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settle = () => {
    if (live.size === 0) finish();
  };
  const launch = () => {
    const slot = started++;
    const worker = start({
      config: options.config,
      endpoint: options.endpoint,
      runId: options.runId,
      shard: options.shard,
      journalFile: journalFile(options, slot),
      concurrency: options.config.concurrency,
      driver: options.driver,
    });
    live.add(worker);
    const held = new Set<number>();
    let reportedFinished = false;
    let crash: Error | null = null;
    const feed = () => {
      while (failure === null && !stopped && held.size < ahead && queue.length > 0) {
        const index = queue.shift()!;
        held.add(index);
        worker.postMessage({ type: "run", job: { index, id: options.matrix[index]!.id } } satisfies ToWorker);
      }
      if (held.size === 0 || stopped || failure !== null) worker.postMessage({ type: "stop" } satisfies ToWorker);
    };
    worker.on("message", (message: FromWorker) => {
      if (message.type === "ready") feed();
      else if (message.type === "done") {
        held.delete(message.outcome.index);
        options.onDone(message.outcome);
        feed();
      } else if (message.type === "failed") {
        failure ??= Object.assign(new Error(message.message), message.code !== undefined && { code: message.code });
        held.delete(message.index);
        feed();
      } else {
        reportedFinished = true;
        addRequestStats(requests, message.requests);
      }
    });
    worker.on("error", (error) => (crash = error));
    worker.on("exit", (code) => {
      live.delete(worker);
      if (!stopped && failure === null && (held.size > 0 || !reportedFinished)) {
        const lost = [...held].map((i) => options.matrix[i]!.id);
        const how = crash ? `crashed (${(crash as Error).message.split("\n")[0]})` : `exited with code ${code}`;
        const twice = [...held].filter((i) => (deaths.set(i, (deaths.get(i) ?? 0) + 1).get(i) ?? 0) >= DEATHS_PER_CAMPAIGN);
        if (twice.length > 0) {
          failure ??= new Error(`worker threads ${how} ${DEATHS_PER_CAMPAIGN} times while running campaign ${options.matrix[twice[0]!]!.id}; the other campaigns are kept`);
          workerDeaths.push(`a worker thread ${how} holding ${lost.length} campaigns; the run stops`);
        } else {
          workerDeaths.push(`a worker thread ${how} holding ${lost.length} campaigns${lost.length > 0 ? `, run again on a new worker: ${lost.join(", ")}` : ""}`);
          queue.unshift(...held);
          if (failure === null && queue.length > 0) launch();
        }
      }
      settle();
    });
  };
  for (let i = 0; i < Math.min(options.workers, options.pending.length); i++) launch();
  // A stop drops the campaigns in flight: terminating a thread between two statements cannot tear a journal line,
  // which is one write call.
  options.signal?.addEventListener("abort", () => {
    stopped = true;
    for (const worker of live) void worker.terminate();
  }, { once: true });
  await finished;
  return { failure, requests, workerDeaths };
}

type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "done"; readonly outcome: JobOutcome }
  | { readonly type: "failed"; readonly index: number; readonly message: string; readonly code?: string }
  | { readonly type: "finished"; readonly requests: RequestStats };

/** Workers run what the main thread runs: the TypeScript sources through tsx's loader, or the built package's JavaScript. */
function spawnWorker(setup: WorkerSetup): Worker {
  if (import.meta.url.endsWith(".js")) return new Worker(new URL("./worker.js", import.meta.url), { workerData: setup });
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./worker.ts", import.meta.url).href);
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}); })`, { eval: true, workerData: setup });
}
