import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
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
    // And two digits changed on disk, in two records: each is a dropped line whose campaign runs again.
    // The two are whole records, wherever the two workers wrote them (a file's last line may be cut by the kill).
    let changed = 0;
    for (const file of readdirSync(join(killed, JOURNAL_DIR)).map((f) => join(killed, JOURNAL_DIR, f))) {
      const lines = readFileSync(file, "utf8").split("\n");
      for (const [i, line] of lines.entries()) {
        if (changed === 2 || !/,"crc":"[0-9a-f]{8}"\}$/.test(line)) continue;
        const at = line.indexOf('"seed":') + '"seed":'.length;
        lines[i] = `${line.slice(0, at)}${line[at] === "9" ? "8" : "9"}${line.slice(at + 1)}`;
        changed++;
      }
      writeFileSync(file, lines.join("\n"));
    }
    expect(changed).toBe(2);
    appendFileSync(join(killed, JOURNAL_DIR, first!), '{"campaign":"c-torn","episodes":[{"run_id":"kil');
    const before = JSON.parse(readFileSync(join(killed, "manifest.json"), "utf8"));
    expect(before.status).toBe("running");
    expect(existsSync(join(killed, "episodes.parquet"))).toBe(false);

    // The killed process's lock is stale; a live holder's is not.
    expect(JSON.parse(readFileSync(join(killed, "run.lock.1"), "utf8")).pid).toBe(child.pid);
    const live = { pid: process.ppid, host: hostname(), token: "t", started_at: "2026-01-01T00:00:00.000Z" };
    const ppidStart = readFileSync(`/proc/${process.ppid}/stat`, "utf8").split(") ")[1]!.split(" ")[19];
    writeFileSync(join(killed, "run.lock.2"), JSON.stringify({ ...live, process_start: ppidStart }));
    await expect(resumeRun({ dir: killed, endpoint: {} })).rejects.toThrow(`is being run by process ${process.ppid} on ${hostname()} (lock taken 2026-01-01T00:00:00.000Z): wait for it`);
    // A live pid whose start time is not the holder's: the pid was reused, the lock is stale and is taken over.
    writeFileSync(join(killed, "run.lock.3"), JSON.stringify({ ...live, process_start: "1" }));
    const stale = mkdtempSync(join(tmpdir(), "anis-stale-lock-"));
    cpSync(killed, stale, { recursive: true });
    await expect(resumeRun({ dir: stale, endpoint: {}, workers: 1 })).resolves.toMatchObject({ episodes: whole.episodes, digest: whole.digest });
    // A holder that cannot be told from a live one (no start time, or another machine): refused with the way out,
    // which is only taken when asked.
    writeFileSync(join(killed, "run.lock.4"), JSON.stringify({ ...live, token: "someone-else" }));
    await expect(resumeRun({ dir: killed, endpoint: {} })).rejects.toThrow(/is being run by process \d+ on .* \(lock taken 2026-01-01T00:00:00.000Z\).*--force-unlock/);
    writeFileSync(join(killed, "run.lock.5"), JSON.stringify({ ...live, host: "another-machine", process_start: ppidStart }));
    await expect(resumeRun({ dir: killed, endpoint: {} })).rejects.toThrow(/process \d+ on another-machine .*--force-unlock/);

    const resumed = await resumeRun({ dir: killed, endpoint: {}, workers: 1, forceUnlock: true });
    // At least 12 campaigns were journaled; the two changed on disk run again.
    expect(resumed.resumed!.campaigns).toBeGreaterThanOrEqual(10);
    expect(resumed.resumed!.tornLines).toBeGreaterThanOrEqual(3);
    expect(resumed.resumed!.dropped.corrupt).toBe(2);
    expect(resumed.episodes).toBe(whole.episodes);
    expect(resumed.digest).toEqual(whole.digest);
    const after = JSON.parse(readFileSync(join(killed, "manifest.json"), "utf8"));
    expect(after).toMatchObject({ status: "complete", counts: { episodes: whole.episodes, errors: 0 }, digest: whole.digest });
    expect(after.sessions).toHaveLength(2);
    expect(after.sessions[1].campaigns_found_done + after.sessions[1].campaigns_run).toBe(after.planned.campaigns);
    expect(existsSync(join(killed, JOURNAL_DIR))).toBe(false);
    // The lock is released, and only the newest generation is left.
    expect(readdirSync(killed).filter((f) => f.startsWith("run.lock")).sort()).toEqual(["run.lock.6", "run.lock.6.released"]);
    // A finished run is never resumed: that would rewrite its results from an empty journal.
    await expect(resumeRun({ dir: killed, endpoint: {} })).rejects.toThrow(/already complete/);
    expect(await episodesIn(killed)).toBe(whole.episodes);
  }, 240_000);

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
    // A record whose bytes changed after it was written: whole JSON, wrong checksum.
    const changed = readFileSync(file, "utf8").split("\n")[1]!.replace('"c-2"', '"c-3"');
    appendFileSync(file, `${changed}\n`);
    appendFileSync(file, 'garbage in the middle\n{"campaign":"c-2","episodes":"not a list","events":[]}\n{"campaign":"c-3","epis');
    const campaigns = new Set(["c-1", "c-2", "c-3"]);

    const state = recoverJournal(dir, campaigns);
    expect([...state.done.keys()]).toEqual(["c-1", "c-2"]);
    expect(state.done.get("c-1")).toEqual({ episodes: 2, errorCodes: { model_error: 1 } });
    expect(state.dropped).toEqual({ torn: 3, corrupt: 1, repeated: 1, unknown: 1, errored: 0 });
    expect(readFileSync(file, "utf8").split("\n")).toHaveLength(3);
    expect(recoverJournal(dir, campaigns).tornLines).toBe(0);
    // Retrying errors drops the campaigns that have one, so they run again.
    const retried = recoverJournal(dir, campaigns, { dropErrored: true });
    expect([...retried.done.keys()]).toEqual(["c-2"]);
    expect(retried.dropped.errored).toBe(1);
  });
});
