import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { acquireRunLock } from "./lock.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RACER = fileURLToPath(new URL("./fixtures/lock-racer.ts", import.meta.url));

/** A pid no process has: one that just exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

describe("the run lock", () => {
  it("races: of contenders starting together on a fresh, a stale or a released lock, exactly one takes each folder, and the others name it", async () => {
    const base = mkdtempSync(join(tmpdir(), "anis-lock-race-"));
    const trials = 150;
    const contenders = 5;
    const dead = deadPid();
    for (let t = 0; t < trials; t++) {
      const dir = join(base, `trial-${t}`);
      mkdirSync(dir);
      // A third fresh, a third left by a killed holder, a third released: every way a lock is taken.
      if (t % 3 > 0) writeFileSync(join(dir, "run.lock.7"), JSON.stringify({ pid: dead, host: hostname(), token: "old", started_at: "2026-01-01T00:00:00.000Z" }));
      if (t % 3 === 2) writeFileSync(join(dir, "run.lock.7.released"), "");
    }
    const outputs = await Promise.all(
      Array.from(
        { length: contenders },
        () =>
          new Promise<string>((resolve, reject) =>
            execFile(process.execPath, ["--import", "tsx", RACER, base, String(trials), String(contenders)], { cwd: ROOT }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
          ),
      ),
    );
    const results = outputs.flatMap((out) => out.trim().split("\n").map((line) => JSON.parse(line) as { trial: number; pid: number; won: boolean; message?: string }));
    expect(results).toHaveLength(trials * contenders);
    for (let t = 0; t < trials; t++) {
      const of = results.filter((r) => r.trial === t);
      const winners = of.filter((r) => r.won);
      expect(winners, `trial ${t}`).toHaveLength(1);
      for (const loser of of.filter((r) => !r.won)) expect(loser.message).toContain(`is being run by process ${winners[0]!.pid} on ${hostname()}`);
      const dir = join(base, `trial-${t}`);
      const top = readdirSync(dir).filter((f) => /^run\.lock\.\d+$/.test(f)).sort((a, b) => Number(a.slice(9)) - Number(b.slice(9))).at(-1)!;
      expect(JSON.parse(readFileSync(join(dir, top), "utf8")).pid).toBe(winners[0]!.pid);
    }
  }, 240_000);

  it("a released lock is taken by the next process; a lock held by this process's own live holder is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-lock-"));
    const release = acquireRunLock(dir);
    expect(() => acquireRunLock(dir)).toThrow(`${dir} is being run by process ${process.pid} on ${hostname()}`);
    release();
    const again = acquireRunLock(dir);
    expect(readdirSync(dir).sort()).toEqual(["run.lock.2"]);
    again();
  });
});
