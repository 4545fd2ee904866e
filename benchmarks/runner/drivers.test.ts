import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { loadRunConfig } from "./config.ts";
import { executeRun } from "./run.ts";

/**
 * The perf benchmark compares drivers of the same campaigns; its ratios mean something only if they run the same
 * episodes. Worker threads, the in-process loop, LangGraph as it comes on Node (AsyncLocalStorage, no random pool)
 * and the bare loop without LangGraph must give equal results.
 */
const config = {
  ...loadRunConfig("quick"),
  agents: ["single", "supervisor", "team", "pipeline", "groupchat"],
  defenses: ["none", "tower"],
  sample: 10,
};

describe("drivers of the runner", () => {
  it("worker threads, the in-process loop, untuned LangGraph and the bare loop produce the same episodes and events", async () => {
    const out = mkdtempSync(join(tmpdir(), "anis-drivers-"));
    const inProcess = await executeRun({ config, out, runId: "in-process", endpoint: {}, workers: 1 });
    const threads = await executeRun({ config, out, runId: "threads", endpoint: {}, workers: 2 });
    const untuned = await executeRun({ config, out, runId: "untuned", endpoint: {}, workers: 1, driver: "langgraph-untuned" });
    const bare = await executeRun({ config, out, runId: "bare", endpoint: {}, workers: 1, driver: "bare" });
    expect(inProcess.episodes).toBeGreaterThan(500);
    expect(inProcess.errors).toBe(0);
    expect(threads.digest).toEqual(inProcess.digest);
    expect(untuned.digest).toEqual(inProcess.digest);
    expect(bare.digest).toEqual(inProcess.digest);
  }, 240_000);
});

/**
 * In a fresh thread: imports what a runner thread imports, and reports which context storage LangChain then uses
 * and what the tuned driver makes of the thread's environment.
 */
const href = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
const STORAGE_PROBE = `(async () => {
  (await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})).register();
  for (const path of [${["./matrix.ts", "./pool.ts", "./episode.ts"].map(href).join(", ")}]) await import(path);
  const { prepareDriver } = await import(${href("./campaign-runner.ts")});
  const { AsyncLocalStorageProviderSingleton } = await import("@langchain/core/singletons");
  const storage = () => AsyncLocalStorageProviderSingleton.getInstance().constructor.name;
  const tuned = storage();
  // Node's environment turns what is stored into a string; a plain copy keeps it as it is.
  const stored = () => { process.env.ANIS_PROBE = 1; return typeof process.env.ANIS_PROBE; };
  const before = stored();
  // What a runnable call hands the context storage: a root run tree, or nothing.
  const instance = AsyncLocalStorageProviderSingleton.getInstance();
  const run = instance.run.bind(instance);
  let handed = null;
  instance.run = (store, callback) => { handed = store === undefined ? "nothing" : store.constructor.name; return run(store, callback); };
  const handedFor = () => { AsyncLocalStorageProviderSingleton.runWithConfig({ tags: ["probe"] }, () => 1); return handed; };
  const runTrees = { before: handedFor() };
  await prepareDriver("langgraph");
  runTrees.after = handedFor();
  const environment = { before, after: stored(), path: process.env.PATH === ${JSON.stringify(process.env.PATH)} };
  await prepareDriver("langgraph-untuned");
  require("node:worker_threads").parentPort.postMessage({ tuned, untuned: storage(), environment, runTrees });
})()`;

describe("what the drivers run on", () => {
  it("the agents and the runner load LangGraph without AsyncLocalStorage; the untuned driver installs it, as LangGraph's Node entry does; the tuned driver copies a worker's environment into a plain object and builds no root run tree nothing can read", async () => {
    const worker = new Worker(STORAGE_PROBE, { eval: true });
    const storages = await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    expect(storages).toEqual({
      tuned: "MockAsyncLocalStorage",
      untuned: "AsyncLocalStorage",
      environment: { before: "string", after: "number", path: true },
      runTrees: { before: "RunTree", after: "nothing" },
    });
  }, 240_000);
});
