import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunConfig } from "./config.ts";
import { executeRun } from "./run.ts";

/**
 * The perf benchmark compares three drivers of the same campaigns; its ratios mean something only if they run the
 * same episodes. Worker threads, a plain in-process loop and the bare loop without LangGraph must give equal results.
 */
const config = {
  ...loadRunConfig("quick"),
  agents: ["single", "supervisor", "team", "pipeline", "groupchat"],
  defenses: ["none", "tower"],
  sample: 10,
};

describe("drivers of the runner", () => {
  it("worker threads, the in-process loop and the bare loop without LangGraph produce the same episodes and events", async () => {
    const out = mkdtempSync(join(tmpdir(), "anis-drivers-"));
    const plain = await executeRun({ config, out, runId: "plain", endpoint: {}, workers: 1 });
    const threads = await executeRun({ config, out, runId: "threads", endpoint: {}, workers: 2 });
    const bare = await executeRun({ config, out, runId: "bare", endpoint: {}, workers: 1, bare: true });
    expect(plain.episodes).toBeGreaterThan(500);
    expect(plain.errors).toBe(0);
    expect(threads.digest).toEqual(plain.digest);
    expect(bare.digest).toEqual(plain.digest);
  }, 120_000);
});
