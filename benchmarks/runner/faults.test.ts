import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openResults, queryRows } from "../../analysis/results.ts";
import { resolveEndpoint } from "../../agents/models/openai.ts";
import { type FaultPlan, startOpenAIServer } from "../testing/openai-server.ts";
import { loadRunConfig } from "./config.ts";
import { executeRun, resumeRun, type RunSummary } from "./run.ts";

/**
 * A real model endpoint that fails: a local OpenAI-compatible server injects 429s, 500s, slow answers, dropped
 * connections (before and during the body), malformed tool calls and a server that never recovers. The run must
 * complete, account for every failure, lose nothing, and, where retries succeed, equal a fault-free run.
 */
const config = {
  ...loadRunConfig("quick"),
  name: "faults",
  suites: ["workspace"],
  agents: ["single", "supervisor"],
  defenses: ["none", "l1"],
  models: ["openai:scripted"],
  sample: 12,
  concurrency: 6,
};

/**
 * The per-attempt timeout is far above any answer's time on a busy machine; the slow fault never answers, so only it
 * times out. The counts the tests check compare what the client and the server each saw, not what a clock allowed.
 */
async function runAgainst(plan: FaultPlan, runId: string) {
  const server = await startOpenAIServer(plan);
  try {
    const endpoint = resolveEndpoint({ baseURL: server.baseURL, apiKey: "k", timeoutMs: 4000, maxRetries: 3, retryBaseDelayMs: 10 }, {});
    const summary = await executeRun({ config, out: mkdtempSync(join(tmpdir(), "anis-faults-")), runId, endpoint });
    return { summary, log: server.log, manifest: JSON.parse(readFileSync(join(summary.dir, "manifest.json"), "utf8")) };
  } finally {
    await server.close();
  }
}

const rowsOf = async (summary: RunSummary) => {
  const db = await openResults([summary.dir]);
  try {
    return await queryRows(db.connection, "SELECT * EXCLUDE (run_id, duration_ms, defense_us) FROM episodes ORDER BY episode_id");
  } finally {
    db.close();
  }
};

describe("fault tolerance against an OpenAI-compatible server that fails", () => {
  let clean: Awaited<ReturnType<typeof runAgainst>>;
  beforeAll(async () => {
    clean = await runAgainst({ transient: false, persistent: false }, "clean");
  }, 240_000);

  it("the fault-free run completes, every attempt the server saw counted, and records tokens", async () => {
    expect(clean.summary.errors).toBe(0);
    const { requests } = clean.manifest;
    expect(requests).toMatchObject({ requests: clean.log.first, attempts: clean.log.received, retried: clean.log.received - clean.log.first, failed: 0 });
    // Without faults only a timeout can cause a retry (none is expected; a stalled machine may cause one).
    expect(Object.keys(requests.by_cause).filter((cause) => cause !== "timeout")).toEqual([]);
    const rows = await rowsOf(clean.summary);
    expect(rows.every((r) => Number(r.input_tokens) > 0 && r.output_tokens === 12 * Number(r.model_calls) && r.cost_usd === null)).toBe(true);
  });

  it("429, 500, slow answers and dropped connections are retried: every one counted, results equal the fault-free run's", async () => {
    const faulty = await runAgainst({ transient: true, persistent: false }, "transient");
    const injected = faulty.log.faults;
    expect(Object.keys(injected).sort()).toEqual(["drop", "drop_mid_body", "http_429", "http_500", "slow"]);
    const { by_cause: causes, ...counts } = faulty.manifest.requests;
    expect(causes).toMatchObject({ http_429: injected.http_429, http_500: injected.http_500, connection: injected.drop! + injected.drop_mid_body! });
    expect(causes.timeout).toBeGreaterThanOrEqual(injected.slow!);
    expect(counts).toEqual({ requests: faulty.log.first, attempts: faulty.log.received, retried: faulty.log.received - faulty.log.first, failed: 0 });
    expect(faulty.log.first).toBe(clean.log.first);
    expect(faulty.summary.errors).toBe(0);
    expect(faulty.summary.episodes).toBe(clean.summary.episodes);
    expect(faulty.summary.digest).toEqual(clean.summary.digest);
  }, 240_000);

  it("malformed tool calls and a server that never recovers are model errors, never blocks; the other campaigns equal the fault-free run's", async () => {
    const broken = await runAgainst({ transient: false, persistent: true }, "persistent");
    const injected = broken.log.faults;
    expect(injected.malformed).toBeGreaterThan(0);
    expect(injected.http_503_always).toBeGreaterThan(0);
    const rows = await rowsOf(broken.summary);
    const errored = rows.filter((r) => r.error !== null);
    // Each malformed answer ends one episode; each request that failed four times (1 + 3 retries) ends one.
    expect(broken.manifest.requests.failed * 4).toBe(injected.http_503_always);
    expect(errored).toHaveLength(injected.malformed! + broken.manifest.requests.failed);
    expect(errored.every((r) => r.error === "model_error" && r.stops === 0 && r.attack_success !== true)).toBe(true);
    expect(errored.filter((r) => /malformed tool call/.test(String(r.error_message)))).toHaveLength(injected.malformed!);
    expect(broken.manifest.failures.episodes_by_error).toEqual({ model_error: errored.length });
    expect(broken.summary.episodes).toBe(clean.summary.episodes);

    const failedCampaigns = new Set(errored.map((r) => r.campaign_id));
    const cleanRows = new Map((await rowsOf(clean.summary)).map((r) => [r.episode_id, r]));
    const untouched = rows.filter((r) => !failedCampaigns.has(r.campaign_id));
    expect(untouched.length).toBeGreaterThan(rows.length / 2);
    for (const row of untouched) expect(row).toEqual(cleanRows.get(row.episode_id as string));

    // The errored campaigns, and only they, run again once the server is mended; the run then equals the fault-free one.
    await expect(resumeRun({ dir: broken.summary.dir, endpoint: {} })).rejects.toThrow(/already complete .*--retry-errors/);
    const mended = await startOpenAIServer({ transient: false, persistent: false });
    try {
      const endpoint = resolveEndpoint({ baseURL: mended.baseURL, apiKey: "k", timeoutMs: 4000, maxRetries: 3, retryBaseDelayMs: 10 }, {});
      const retried = await resumeRun({ dir: broken.summary.dir, endpoint, retryErrors: true });
      expect(retried.resumed!.dropped.errored).toBe(failedCampaigns.size);
      expect(retried.errors).toBe(0);
      expect(retried.digest).toEqual(clean.summary.digest);
      const manifest = JSON.parse(readFileSync(join(broken.summary.dir, "manifest.json"), "utf8"));
      expect(manifest.sessions.map((x: { retry_errors?: boolean }) => x.retry_errors ?? false)).toEqual([false, true]);
      expect(manifest).toMatchObject({ status: "complete", counts: { errors: 0 } });
    } finally {
      await mended.close();
    }
  }, 240_000);
});
