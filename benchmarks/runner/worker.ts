import { dirname } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import { loadConfigurationLayers } from "../../defenses/config.ts";
import { protectFolders } from "../../defenses/sandbox/bundle.ts";
import { CampaignRunner, type EpisodeDriver, type Job, prepareDriver } from "./campaign-runner.ts";
import { privateFolders, type RunConfig } from "./config.ts";
import { buildMatrix, resolveRun, type Shard } from "./matrix.ts";
import { requestStatsOf } from "./pool.ts";

/** What the main thread gives a worker: enough to build the same matrix and where to journal. */
export interface WorkerSetup {
  readonly config: RunConfig;
  readonly endpoint: OpenAIEndpoint;
  readonly runId: string;
  readonly shard?: Shard;
  readonly journalFile: string;
  readonly concurrency: number;
  readonly driver: EpisodeDriver;
}

export type ToWorker = { readonly type: "run"; readonly job: Job } | { readonly type: "stop" };

const setup = workerData as WorkerSetup;
const port = parentPort!;
await prepareDriver(setup.driver);
protectFolders(privateFolders(setup.config, dirname(dirname(setup.journalFile))));
await loadConfigurationLayers(setup.config.defenses);
const run = resolveRun(setup.config, setup.endpoint);
const matrix = buildMatrix(setup.config, run, setup.shard);
const runner = new CampaignRunner(matrix, setup.runId, setup.journalFile, setup.concurrency, setup.driver, {
  done: (outcome) => port.postMessage({ type: "done", outcome }),
  failed: (error, job) => port.postMessage({ type: "failed", index: job.index, message: error.stack ?? error.message, code: (error as NodeJS.ErrnoException).code }),
  idle: () => {
    port.postMessage({ type: "finished", requests: requestStatsOf(run.models) });
    port.close();
  },
});
port.on("message", (message: ToWorker) => (message.type === "run" ? runner.submit(message.job) : runner.stop()));
port.postMessage({ type: "ready" });
