import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfigurationLayers } from "../../defenses/config.ts";
import { loadRunConfig } from "./config.ts";
import { JOURNAL_DIR, recoverJournal } from "./journal.ts";
import { buildMatrix, resolveRun } from "./matrix.ts";
import { runPool, type WorkerSetup } from "./pool.ts";
import { executeRun, resumeRun, RunInterrupted, type RunSummary } from "./run.ts";

/**
 * A run folder survives what strangers and bad luck do to it: processes racing for it, signals, workers that die,
 * code that changed, a disk that fills or turns read-only. Real processes, real files, a real tmpfs where the
 * machine lets a user namespace mount one.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const config = { ...loadRunConfig("quick"), name: "survive", suites: ["workspace"], agents: ["single", "supervisor"], defenses: ["none", "l1"], sample: 12 };
const out = mkdtempSync(join(tmpdir(), "anis-survive-"));
const configFile = join(out, "survive.json");
writeFileSync(configFile, JSON.stringify(config));

interface Exit {
  readonly code: number | null;
  readonly stderr: string;
}
function cli(args: readonly string[], prefix: readonly string[] = []): { child: ChildProcess; exit: Promise<Exit> } {
  const [command, ...rest] = prefix.length > 0 ? [...prefix, process.execPath] : [process.execPath];
  const child = spawn(command!, [...rest, "--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, exit: new Promise((resolve) => child.once("close", (code) => resolve({ code, stderr }))) };
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
const journalLines = (dir: string) =>
  existsSync(join(dir, JOURNAL_DIR)) ? readdirSync(join(dir, JOURNAL_DIR)).reduce((n, f) => n + readFileSync(join(dir, JOURNAL_DIR, f), "utf8").split("\n").length - 1, 0) : 0;
const locks = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("run.lock")).sort();

/** A run stopped after `campaigns` campaigns, as a signal would stop it: a folder to resume. */
async function interruptedRun(runId: string, campaigns: number): Promise<string> {
  const controller = new AbortController();
  let done = 0;
  await expect(executeRun({ config, out, runId, endpoint: {}, workers: 1, signal: controller.signal, onProgress: () => ++done > campaigns && controller.abort("SIGTERM") })).rejects.toThrow(RunInterrupted);
  return join(out, runId);
}

let whole: RunSummary;
beforeAll(async () => {
  whole = await executeRun({ config, out, runId: "whole", endpoint: {} });
}, 240_000);

describe("one writer per run folder", () => {
  it("racing fresh runs and resumes: exactly one writes, the others exit 2 naming the holder, and the folder equals an uninterrupted run", async () => {
    // One trial of each through the real CLI: lock.test.ts races 150 folders at the lock itself.
    const trials = 1;
    for (let trial = 0; trial < trials; trial++) {
      const fresh = await Promise.all([0, 1, 2].map(() => cli(["run", "--config", configFile, "--out", out, "--run-id", `fresh-${trial}`]).exit));
      expect(fresh.filter((e) => e.code === 0), fresh.map((e) => e.stderr).join("\n")).toHaveLength(1);
      for (const lost of fresh.filter((e) => e.code !== 0)) {
        expect(lost.code).toBe(2);
        expect(lost.stderr).toMatch(/is being run by process \d+ on \S+ \(lock taken .*\)|already holds a run/);
      }
      expect(manifestOf(join(out, `fresh-${trial}`))).toMatchObject({ status: "complete", digest: whole.digest, counts: { episodes: whole.episodes } });

      const dir = await interruptedRun(`resumed-${trial}`, 6);
      const resumes = await Promise.all([0, 1, 2].map(() => cli(["run", "--resume", dir]).exit));
      expect(resumes.filter((e) => e.code === 0), resumes.map((e) => e.stderr).join("\n")).toHaveLength(1);
      for (const lost of resumes.filter((e) => e.code !== 0)) {
        expect(lost.code).toBe(2);
        expect(lost.stderr).toMatch(/is being run by process \d+ on \S+ \(lock taken .*\)|the run is already complete/);
      }
      expect(manifestOf(dir)).toMatchObject({ status: "complete", digest: whole.digest, counts: { episodes: whole.episodes } });
    }
  }, 240_000);
});

describe("clean stops", () => {
  it.each([
    ["SIGTERM", 143, 1],
    ["SIGINT", 130, 2],
  ] as const)("%s: the manifest says interrupted with the command that resumes it, the lock is released, exit %i; resumed, the run equals an uninterrupted one", async (signal, code, times) => {
    const runId = `stopped-${signal}`;
    const dir = join(out, runId);
    const { child, exit } = cli(["run", "--config", configFile, "--out", out, "--run-id", runId, "--workers", "2"]);
    for (let waited = 0; journalLines(dir) < 1 && child.exitCode === null && waited < 60_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    // A second signal exits at once: it must not leave the folder unusable either.
    for (let i = 0; i < times; i++) child.kill(signal);
    const { code: exitCode, stderr } = await exit;
    expect(exitCode, stderr).toBe(code);
    if (times === 1) {
      expect(stderr).toContain(`${signal}: stopped ${dir}; the finished campaigns are kept. Resume with: anis run --resume ${dir}`);
      expect(manifestOf(dir)).toMatchObject({ status: "interrupted", interrupted_by: signal, resume: `anis run --resume ${dir}` });
      expect(locks(dir).at(-1)).toMatch(/\.released$/);
    }
    const resumed = await resumeRun({ dir, endpoint: {}, workers: 1 });
    expect(resumed).toMatchObject({ episodes: whole.episodes, digest: whole.digest });
  }, 240_000);
});

describe("the pool knows every planned campaign", () => {
  /** Runs the whole matrix on two threads started by `startWorker`, in a fresh folder; returns the pool and the journal. */
  const poolWith = async (startWorker: (dir: string) => (setup: WorkerSetup) => Worker) => {
    await loadConfigurationLayers(config.defenses);
    const run = resolveRun(config, {});
    const matrix = buildMatrix(config, run);
    const dir = mkdtempSync(join(tmpdir(), "anis-pool-"));
    const pool = await runPool({
      config, endpoint: {}, runId: "pool", dir, matrix, models: run.models, pending: matrix.map((_, i) => i), session: 0, workers: 2, driver: "langgraph",
      onDone: () => {},
      startWorker: startWorker(dir),
    });
    return { matrix, pool, recorded: recoverJournal(dir, new Set(matrix.map((c) => c.id))) };
  };
  /** The real worker, in a thread that exits (code 0, as a library calling process.exit would) when handed one campaign. */
  const dyingWorker = (dieOn: number, marker: string | null) => (setup: WorkerSetup) =>
    new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       const fs = require("node:fs");
       parentPort.on("message", (m) => {
         if (m.type !== "run" || m.job.index !== workerData.dieOn) return;
         if (workerData.marker !== null) { if (fs.existsSync(workerData.marker)) return; fs.writeFileSync(workerData.marker, ""); }
         process.exit(0);
       });
       import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL("./worker.ts", import.meta.url).href)}); });`,
      { eval: true, workerData: { ...setup, dieOn, marker } },
    );

  it("a worker that exits mid-campaign is replaced and its campaigns run again: every planned campaign is recorded once", async () => {
    const { matrix, pool, recorded } = await poolWith((dir) => dyingWorker(5, join(dir, "died-once")));
    expect(pool.failure).toBeNull();
    expect(pool.workerDeaths).toEqual([expect.stringMatching(new RegExp(`^a worker thread exited with code 0 holding \\d+ campaigns, run again on a new worker: .*${matrix[5]!.id}`))]);
    expect(recorded.done.size).toBe(matrix.length);
  }, 240_000);

  it("a campaign that kills its worker twice fails the run with the reason; what finished is kept", async () => {
    const { matrix, pool, recorded } = await poolWith(() => dyingWorker(5, null));
    expect(pool.failure?.message).toBe(`worker threads exited with code 0 2 times while running campaign ${matrix[5]!.id}; the other campaigns are kept`);
    expect(recorded.done.has(matrix[5]!.id)).toBe(false);
    expect(recorded.done.size).toBeGreaterThan(0);
  }, 240_000);
});

describe("complete means every planned campaign is on disk", () => {
  it("a journal that loses records while the run goes (a stranger cleaned the folder) ends the run failed, resumable, never complete", async () => {
    const runId = "lost-journal";
    const dir = join(out, runId);
    let calls = 0;
    const cleaner = () => {
      if (++calls === 4) rmSync(join(dir, JOURNAL_DIR), { recursive: true });
    };
    await expect(executeRun({ config, out, runId, endpoint: {}, workers: 1, onProgress: cleaner })).rejects.toThrow(/^\d+ of \d+ planned campaigns have no whole record in the journal \(.*\); they run on resume$/);
    expect(manifestOf(dir)).toMatchObject({ status: "failed", resume: `anis run --resume ${dir}` });
    expect(existsSync(join(dir, "episodes.parquet"))).toBe(false);
    await expect(resumeRun({ dir, endpoint: {}, workers: 1 })).resolves.toMatchObject({ episodes: whole.episodes, digest: whole.digest });
  }, 240_000);
});

describe("a resume runs the code the run started with", () => {
  it("refuses a run whose code changed since, naming the change, and one that does not record its code", async () => {
    const dir = await interruptedRun("changed-code", 2);
    const manifest = manifestOf(dir);
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, source_hash: "0123456789abcdef" }));
    await expect(resumeRun({ dir, endpoint: {} })).rejects.toThrow(
      new RegExp(`^cannot resume ${dir}: the code \\(source 0123456789abcdef → ${manifest.source_hash}, commit .* → .*\\) changed since the run started, and its episodes would mix two benchmarks; start a new run$`),
    );
    const { source_hash: _, ...older } = manifest;
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(older));
    await expect(resumeRun({ dir, endpoint: {} })).rejects.toThrow("the code (the run's manifest records no source hash: it was made by an older version) changed since the run started");
  }, 240_000);
});

describe("a folder this user may not write", () => {
  // As root every folder is writable: drop to nobody for the child, where the machine has setpriv and nobody can
  // read the checkout.
  const asRoot = process.getuid?.() === 0;
  const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
  const readable = ["benchmarks/cli/main.ts", "node_modules/tsx/package.json"].map((f) => `require("fs").accessSync(${JSON.stringify(join(ROOT, f))});`).join("");
  const setpriv = asRoot && spawnSync(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, "-e", readable]).status === 0;
  if (asRoot && !setpriv) console.warn("running as root without a way to drop to nobody that can read the checkout: the EACCES test is skipped");
  it.skipIf(asRoot && !setpriv)("resuming is one line naming the folder and the refusal (EACCES), exit 2, and the folder is unchanged", async () => {
    const dir = await interruptedRun("not-mine", 3);
    const shared = mkdtempSync(join(tmpdir(), "anis-eacces-"));
    const copy = join(shared, "not-mine");
    cpSync(dir, copy, { recursive: true });
    execFileSync("chmod", ["-R", "a+rX,a-w", shared]);
    const before = readdirSync(copy).sort();
    const { code, stderr } = await cli(["run", "--resume", copy], setpriv ? NOBODY : []).exit;
    expect(code).toBe(2);
    expect(stderr).toBe(`error: cannot write to ${copy}: permission denied (EACCES). What is recorded is kept: free space or make the folder writable, then resume with: anis run --resume ${copy}\n`);
    expect(readdirSync(copy).sort()).toEqual(before);
    execFileSync("chmod", ["-R", "u+w", shared]);
    await expect(resumeRun({ dir: copy, endpoint: {}, workers: 1 })).resolves.toMatchObject({ digest: whole.digest });
  }, 240_000);
});

/** Whether this machine lets an unprivileged user namespace mount a tmpfs (Linux with user namespaces). */
const canMount = (() => {
  try {
    execFileSync("unshare", ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
if (!canMount) console.warn("unshare -rm cannot mount a tmpfs here: the full-disk and read-only tests are skipped");

describe.skipIf(!canMount)("a disk that fills or turns read-only (a real tmpfs)", () => {
  /** Runs the CLI with `mountpoint` a fresh tmpfs of `size`, then `after` (shell) in the same namespace. */
  const inTmpfs = (mountpoint: string, size: string, args: readonly string[], before = "", after = "") => {
    mkdirSync(mountpoint, { recursive: true });
    const script = `mount -t tmpfs -o size=${size} tmpfs ${mountpoint} && ${before} "$@"; code=$?; ${after} exit $code`;
    return cli(args, ["unshare", "-rm", "sh", "-c", script, "sh"]).exit;
  };

  it("a full disk mid-run is one line naming the folder, exit 2; nothing recorded is lost, and the run resumes elsewhere to the same results", async () => {
    const disk = join(out, "full-disk");
    const saved = join(out, "saved");
    const { code, stderr } = await inTmpfs(disk, "300k", ["run", "--config", configFile, "--out", disk, "--run-id", "full", "--workers", "2"], "", `cp -a ${disk}/full ${saved};`);
    expect(code).toBe(2);
    expect(stderr).toContain(`error: cannot write to ${disk}/full: the disk is full (ENOSPC). What is recorded is kept: free space or make the folder writable, then resume with: anis run --resume ${disk}/full`);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(journalLines(saved)).toBeGreaterThan(0);
    const resumed = await resumeRun({ dir: saved, endpoint: {}, workers: 1 });
    expect(resumed).toMatchObject({ episodes: whole.episodes, digest: whole.digest });
  }, 240_000);

  it("resuming on a read-only folder, and --out on a read-only mount, are one line each, exit 2", async () => {
    const dir = await interruptedRun("read-only", 3);
    const mount = join(out, "ro");
    const copy = `cp -a ${dir} ${mount}/ && mount -o remount,ro ${mount} &&`;
    const resumed = await inTmpfs(mount, "8m", ["run", "--resume", join(mount, "read-only")], copy);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toBe(`error: cannot write to ${mount}/read-only: the file system is read-only (EROFS). What is recorded is kept: free space or make the folder writable, then resume with: anis run --resume ${mount}/read-only\n`);
    const fresh = await inTmpfs(mount, "8m", ["run", "--config", configFile, "--out", join(mount, "results"), "--run-id", "x"], `mount -o remount,ro ${mount} &&`);
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toBe(`error: cannot create ${mount}/results/x under --out ${mount}/results: the file system is read-only (EROFS)\n`);
    // The folder outside the mount is as it was: resumable.
    await expect(resumeRun({ dir, endpoint: {}, workers: 1 })).resolves.toMatchObject({ digest: whole.digest });
  }, 240_000);
});
