import { isMainThread } from "node:worker_threads";
import { AsyncLocalStorageProviderSingleton, MockAsyncLocalStorage } from "@langchain/core/singletons";
import type { Campaign } from "./episode.ts";
import { runCampaign } from "./episode.ts";
import { JournalWriter } from "./journal.ts";
import { useRandomPool } from "./random-pool.ts";

/**
 * How episodes run; the results are the same. `langgraph`: the agents' LangGraph graphs, imported from LangGraph's
 * web entry (no AsyncLocalStorage: nodes get their config as an argument and pass it on), with the ids LangGraph
 * draws served from a random pool (see random-pool.ts) and, in worker threads, the environment as a plain object
 * (see prepareDriver). `langgraph-untuned`: the same graphs as LangGraph comes on Node — the baseline the perf benchmark
 * measures against. `bare`: the graphs' node functions in a plain loop — its floor.
 */
export type EpisodeDriver = "langgraph" | "langgraph-untuned" | "bare";

/**
 * Readies this thread for a driver, for good. LangGraph as it comes on Node is its main entry, which installs
 * AsyncLocalStorage for the whole thread: every runnable call then runs inside `storage.run` and every promise pays
 * an async hook. A worker's environment is already its own copy, taken when it started; as a plain object it reads
 * in 0.015 µs instead of 0.16-0.22 µs through Node's accessor, and LangChain and LangSmith read it about 1,000
 * times an episode (8 variables for every run tree, 6 for every callback configuration). The main thread's
 * environment stays as it is: child processes and later changes go through it.
 */
export async function prepareDriver(driver: EpisodeDriver): Promise<void> {
  if (driver === "langgraph-untuned") {
    await import("@langchain/langgraph");
    return;
  }
  if (driver !== "langgraph") return;
  if (!isMainThread) process.env = { ...process.env };
  skipUnreadRunTrees();
}

/**
 * LangChain builds a root LangSmith run tree for every runnable call that has no tracer, to carry the call's config
 * in the context storage — where, without AsyncLocalStorage, nothing can ever read it (the mock storage's `run`
 * just calls back). Its own switch for this case, `avoidCreatingRootRunTree`, LangGraph never passes: in a thread
 * without AsyncLocalStorage it is passed here. A tracer, when configured, still gets its run trees.
 */
function skipUnreadRunTrees(): void {
  const provider = AsyncLocalStorageProviderSingleton as typeof AsyncLocalStorageProviderSingleton & { [SKIPS_RUN_TREES]?: true };
  if (provider[SKIPS_RUN_TREES] || !(provider.getInstance() instanceof MockAsyncLocalStorage)) return;
  const runWithConfig = provider.runWithConfig.bind(provider);
  provider.runWithConfig = (config, callback) => runWithConfig(config, callback, true);
  provider[SKIPS_RUN_TREES] = true;
}
const SKIPS_RUN_TREES = Symbol("anis:skips-run-trees");

/** A campaign to run: its index in the matrix, and its id to check that both sides built the same matrix. */
export interface Job {
  readonly index: number;
  readonly id: string;
}

export interface JobOutcome {
  readonly index: number;
  readonly episodes: number;
  /** Errored episodes by error code. */
  readonly errorCodes: Record<string, number>;
}

/**
 * Runs campaigns from a queue, `concurrency` at a time, appending each result to its journal file before
 * reporting it done: a campaign reported done is on disk. The same loop runs in a worker thread or in-process.
 */
export class CampaignRunner {
  private readonly queue: Job[] = [];
  private active = 0;
  private stopping = false;
  private abandoned = false;
  private idle = false;
  private readonly journal: JournalWriter;
  private readonly releaseRandomPool: () => void;

  constructor(
    private readonly matrix: readonly Campaign[],
    private readonly runId: string,
    journalFile: string,
    private readonly concurrency: number,
    private readonly driver: EpisodeDriver,
    private readonly events: {
      readonly done: (outcome: JobOutcome) => void;
      readonly failed: (error: Error, job: Job) => void;
      readonly idle: () => void;
    },
  ) {
    this.journal = new JournalWriter(journalFile);
    this.releaseRandomPool = driver === "langgraph" ? useRandomPool() : () => {};
  }

  submit(job: Job): void {
    this.queue.push(job);
    this.pump();
  }

  /**
   * Stop now: nothing more is recorded or reported, and the journal closes. Campaigns in flight cannot be cut short
   * in this thread; they finish unrecorded, and run again on resume.
   */
  abandon(): void {
    if (this.abandoned) return;
    this.abandoned = true;
    this.queue.length = 0;
    this.journal.close();
    this.releaseRandomPool();
  }

  /** No more jobs will come: report idle once the queue drains, and close the journal. */
  stop(): void {
    this.stopping = true;
    this.maybeIdle();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      this.run(job)
        .then(
          (outcome) => {
            if (outcome !== null) this.events.done(outcome);
          },
          (error: Error) => {
            // A failure is a bug or a disk that refuses writes, not an episode error: stop taking campaigns; the
            // journal keeps what is done.
            this.queue.length = 0;
            if (!this.abandoned) this.events.failed(error, job);
          },
        )
        .finally(() => {
          this.active--;
          this.pump();
          this.maybeIdle();
        });
    }
  }

  private async run(job: Job): Promise<JobOutcome | null> {
    const campaign = this.matrix[job.index];
    if (campaign?.id !== job.id) throw new Error(`campaign ${job.index} is ${campaign?.id ?? "missing"} here, ${job.id} in the main thread: the matrices differ`);
    const result = await runCampaign(campaign, this.runId, { bare: this.driver === "bare" });
    if (this.abandoned) return null;
    const errorCodes = this.journal.append(campaign.id, result);
    return { index: job.index, episodes: result.episodes.length, errorCodes };
  }

  private maybeIdle(): void {
    if (this.idle || this.abandoned || !this.stopping || this.active > 0 || this.queue.length > 0) return;
    this.idle = true;
    this.journal.close();
    this.releaseRandomPool();
    this.events.idle();
  }
}
