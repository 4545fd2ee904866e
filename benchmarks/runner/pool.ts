import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import type { ModelHandle } from "../../agents/models/registry.ts";
import { addRequestStats, emptyRequestStats, type RequestStats } from "../../agents/models/resilient-fetch.ts";
import { CampaignRunner, type EpisodeDriver, type JobOutcome, prepareDriver } from "./campaign-runner.ts";
import type { RunConfig } from "./config.ts";
import type { Campaign } from "./episode.ts";
import { JOURNAL_DIR } from "./journal.ts";
import type { Shard } from "./matrix.ts";
import type { ToWorker, WorkerSetup } from "./worker.ts";

export const requestStatsOf = (models: readonly ModelHandle[]): RequestStats =>
  models.reduce((sum, m) => (m.requests ? addRequestStats(sum, m.requests) : sum), emptyRequestStats());

/** `auto`: every core for the CPU-bound simulated model; one thread for endpoints, whose waiting `concurrency` covers. */
export function workerCount(config: RunConfig): number {
  if (config.workers !== "auto") return config.workers;
  return config.models.every((m) => m.startsWith("sim:")) ? availableParallelism() : 1;
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
}

export interface PoolResult {
  readonly failure: Error | null;
  readonly requests: RequestStats;
}

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
    const runner = new CampaignRunner(options.matrix, options.runId, journalFile(options, 0), options.config.concurrency, options.driver, {
      done: options.onDone,
      failed: (error) => (failure ??= error),
      idle: () => resolve({ failure, requests: requestStatsOf(options.models) }),
    });
    for (const index of options.pending) runner.submit({ index, id: options.matrix[index]!.id });
    runner.stop();
  });
}

/** Each worker builds the matrix itself and is fed campaign indices, a few ahead of what it is running. */
async function runOnThreads(options: PoolOptions): Promise<PoolResult> {
  const count = Math.min(options.workers, options.pending.length);
  const queue = [...options.pending];
  const requests = emptyRequestStats();
  let failure: Error | null = null;
  const ahead = options.config.concurrency + 1;
  const threads = Array.from({ length: count }, (_, i) => {
    const setup: WorkerSetup = {
      config: options.config,
      endpoint: options.endpoint,
      runId: options.runId,
      shard: options.shard,
      journalFile: journalFile(options, i),
      concurrency: options.config.concurrency,
      driver: options.driver,
    };
    return spawnWorker(setup);
  });
  await Promise.all(
    threads.map(
      (worker) =>
        new Promise<void>((resolve) => {
          let inFlight = 0;
          const send = (message: ToWorker) => worker.postMessage(message);
          const feed = () => {
            while (failure === null && inFlight < ahead && queue.length > 0) {
              const index = queue.shift()!;
              inFlight++;
              send({ type: "run", job: { index, id: options.matrix[index]!.id } });
            }
            if (inFlight === 0) send({ type: "stop" });
          };
          worker.on("message", (message: FromWorker) => {
            if (message.type === "ready") feed();
            else if (message.type === "done") {
              inFlight--;
              options.onDone(message.outcome);
              feed();
            } else if (message.type === "failed") {
              failure ??= new Error(message.message);
              inFlight--;
              feed();
            } else addRequestStats(requests, message.requests);
          });
          worker.on("error", (error) => {
            failure ??= error;
          });
          worker.on("exit", () => resolve());
        }),
    ),
  );
  return { failure, requests };
}

type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "done"; readonly outcome: JobOutcome }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "finished"; readonly requests: RequestStats };

/** Workers run the TypeScript sources too: register tsx's loader in the thread, then import the worker module. */
function spawnWorker(setup: WorkerSetup): Worker {
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./worker.ts", import.meta.url).href);
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}); })`, { eval: true, workerData: setup });
}
