import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openResults, queryRows } from "../../analysis/results.ts";
import { loadRunConfig } from "./config.ts";
import { JOURNAL_DIR, JournalWriter, recoverJournal } from "./journal.ts";
import { executeRun, resumeRun } from "./run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const config = { ...loadRunConfig("quick"), suites: ["workspace", "finance"], agents: ["single", "supervisor"], defenses: ["none", "l1"], sample: 24 };

const journalLines = (dir: string) =>
  existsSync(join(dir, JOURNAL_DIR))
    ? readdirSync(join(dir, JOURNAL_DIR)).reduce((n, f) => n + readFileSync(join(dir, JOURNAL_DIR, f), "utf8").split("\n").length - 1, 0)
    : 0;

const episodesIn = async (dir: string) => {
  const db = await openResults([dir]);
  try {
    return Number((await queryRows(db.connection, "SELECT count(*) AS n FROM episodes"))[0]!.n);
  } finally {
    db.close();
  }
};

async function waitFor(condition: () => boolean, child: ChildProcess, what: string): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 50) {
    if (condition()) return;
    if (child.exitCode !== null) throw new Error(`the run exited (${child.exitCode}) before ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("resume after SIGKILL", () => {
  it("a run killed mid-way and resumed has the same episodes and events as an uninterrupted run", async () => {
    const out = mkdtempSync(join(tmpdir(), "anis-resume-"));
    const whole = await executeRun({ config, out, runId: "whole", endpoint: {} });

    const configFile = join(out, "config.json");
    writeFileSync(configFile, JSON.stringify(config));
    const child = spawn(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", "run", "--config", configFile, "--out", out, "--run-id", "killed", "--workers", "2"], {
      cwd: ROOT,
      stdio: "ignore",
    });
    const killed = join(out, "killed");
    await waitFor(() => journalLines(killed) >= 12, child, "12 campaigns were journaled");
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // Whether or not the kill landed mid-write, leave a torn line: the write a killed process cuts short.
    const [first] = readdirSync(join(killed, JOURNAL_DIR));
    appendFileSync(join(killed, JOURNAL_DIR, first!), '{"campaign":"c-torn","episodes":[{"run_id":"kil');
    const before = JSON.parse(readFileSync(join(killed, "manifest.json"), "utf8"));
    expect(before.status).toBe("running");
    expect(existsSync(join(killed, "episodes.parquet"))).toBe(false);

    // The killed process's lock is stale; a live holder's is not.
    expect(JSON.parse(readFileSync(join(killed, "run.lock"), "utf8")).pid).toBe(child.pid);
    writeFileSync(join(killed, "run.lock"), String(process.ppid));
    await expect(resumeRun({ dir: killed, endpoint: {} })).rejects.toThrow(`is being run by process ${process.ppid}`);
    // A live pid whose start time is not the holder's: the pid was reused, the lock is stale and is taken over.
    writeFileSync(join(killed, "run.lock"), JSON.stringify({ pid: process.ppid, token: "t", started_at: "2026-01-01T00:00:00.000Z", process_start: "1" }));
    const stale = mkdtempSync(join(tmpdir(), "anis-stale-lock-"));
    cpSync(killed, stale, { recursive: true });
    await expect(resumeRun({ dir: stale, endpoint: {}, workers: 1 })).resolves.toMatchObject({ episodes: whole.episodes, digest: whole.digest });
    // A live pid that cannot be told from the holder: refused with the way out, which is only taken when asked.
    writeFileSync(join(killed, "run.lock"), JSON.stringify({ pid: process.ppid, token: "someone-else", started_at: "2026-01-01T00:00:00.000Z" }));
    await expect(resumeRun({ dir: killed, endpoint: {} })).rejects.toThrow(/is being run by process \d+ \(lock taken 2026-01-01T00:00:00.000Z\).*--force-unlock/);

    const resumed = await resumeRun({ dir: killed, endpoint: {}, workers: 1, forceUnlock: true });
    expect(resumed.resumed!.campaigns).toBeGreaterThanOrEqual(12);
    expect(resumed.resumed!.tornLines).toBeGreaterThanOrEqual(1);
    expect(resumed.episodes).toBe(whole.episodes);
    expect(resumed.digest).toEqual(whole.digest);
    const after = JSON.parse(readFileSync(join(killed, "manifest.json"), "utf8"));
    expect(after).toMatchObject({ status: "complete", counts: { episodes: whole.episodes, errors: 0 }, digest: whole.digest });
    expect(after.sessions).toHaveLength(2);
    expect(after.sessions[1].campaigns_found_done + after.sessions[1].campaigns_run).toBe(after.planned.campaigns);
    expect(existsSync(join(killed, JOURNAL_DIR))).toBe(false);
    expect(existsSync(join(killed, "run.lock"))).toBe(false);
    // A finished run is never resumed: that would rewrite its results from an empty journal.
    await expect(resumeRun({ dir: killed, endpoint: {} })).rejects.toThrow(/already complete/);
    expect(await episodesIn(killed)).toBe(whole.episodes);
  }, 90_000);

  it("the journal keeps whole lines of the run's campaigns, drops torn lines, strangers and repeats, and says how many of each", () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-journal-"));
    const file = join(dir, JOURNAL_DIR, "s000-w00.ndjson");
    const journal = new JournalWriter(file);
    const episode = (error: string | null) => ({ error }) as never;
    journal.append("c-1", { episodes: [episode(null), episode("model_error")], events: [] });
    journal.append("c-2", { episodes: [episode(null)], events: [] });
    journal.append("c-1", { episodes: [episode(null)], events: [] });
    journal.append("bogus", { episodes: [episode(null)], events: [] });
    journal.close();
    appendFileSync(file, 'garbage in the middle\n{"campaign":"c-2","episodes":"not a list","events":[]}\n{"campaign":"c-3","epis');
    const campaigns = new Set(["c-1", "c-2", "c-3"]);

    const state = recoverJournal(dir, campaigns);
    expect([...state.done.keys()]).toEqual(["c-1", "c-2"]);
    expect(state.done.get("c-1")).toEqual({ episodes: 2, errorCodes: { model_error: 1 } });
    expect(state.dropped).toEqual({ torn: 3, repeated: 1, unknown: 1, errored: 0 });
    expect(readFileSync(file, "utf8").split("\n")).toHaveLength(3);
    expect(recoverJournal(dir, campaigns).tornLines).toBe(0);
    // Retrying errors drops the campaigns that have one, so they run again.
    const retried = recoverJournal(dir, campaigns, { dropErrored: true });
    expect([...retried.done.keys()]).toEqual(["c-2"]);
    expect(retried.dropped.errored).toBe(1);
  });
});
