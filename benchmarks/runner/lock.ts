import { randomUUID } from "node:crypto";
import { existsSync, linkSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { RunConfigError } from "./config.ts";

/**
 * One writer per run folder. The lock is a sequence of generations, `run.lock.<n>`, each created by an exclusive
 * link (the file system arbitrates: of many processes creating the same name, exactly one succeeds, and the file
 * appears whole). The highest generation is the lock. Its holder marks it released when done (`.released`); a
 * generation whose holder is dead or released is stale, and taking over means creating the next generation — so two
 * processes that both find a lock stale race for one name, and one of them loses. Files are never rewritten, so no
 * reader sees a lock half written and no takeover can remove a live holder's file.
 */
interface RunLock {
  readonly pid: number;
  readonly host: string;
  readonly started_at: string;
  /** When the process started (Linux, `/proc`): tells the holder from a later process given the same pid. */
  readonly process_start?: string;
}

const PREFIX = "run.lock.";
const RELEASED = ".released";

/** The generations in a folder, lowest first. */
function generations(dir: string): number[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith(PREFIX) && /^\d{1,9}$/.test(name.slice(PREFIX.length)))
    .map((name) => Number(name.slice(PREFIX.length)))
    .sort((a, b) => a - b);
}

const lockFile = (dir: string, generation: number) => join(dir, `${PREFIX}${generation}`);

/** A process's start time in clock ticks since boot (`/proc/PID/stat`, field 22), or null where there is no /proc. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(file: string): RunLock | null {
  try {
    const lock = JSON.parse(readFileSync(file, "utf8")) as RunLock;
    return Number.isInteger(lock?.pid) && lock.pid > 0 && typeof lock.host === "string" ? lock : null;
  } catch {
    return null;
  }
}

/**
 * Whether a generation still holds the folder: `held` by a live process, `unknown` when its holder is on another
 * machine or cannot be told from a later process with its pid, `stale` otherwise (dead, released, unreadable).
 */
function holderState(dir: string, generation: number): { state: "held" | "unknown" | "stale"; lock: RunLock | null } {
  const file = lockFile(dir, generation);
  const lock = readLock(file);
  if (lock === null) return { state: "stale", lock };
  if (existsSync(`${file}${RELEASED}`)) return { state: "stale", lock };
  if (lock.host !== hostname()) return { state: "unknown", lock };
  if (!isAlive(lock.pid)) return { state: "stale", lock };
  if (lock.process_start === undefined) return { state: "unknown", lock };
  return { state: processStart(lock.pid) === lock.process_start ? "held" : "stale", lock };
}

const describeHolder = (lock: RunLock) => `process ${lock.pid} on ${lock.host} (lock taken ${lock.started_at})`;

/**
 * Takes the run folder's lock, or throws naming the holder. `force` takes over a lock whose holder cannot be told
 * apart from a live one (another machine, a reused pid), with a warning. Returns the release.
 */
export function acquireRunLock(dir: string, options: { readonly force?: boolean } = {}): () => void {
  const draftId = randomUUID();
  const start = processStart(process.pid);
  const content = `${JSON.stringify({ pid: process.pid, host: hostname(), started_at: new Date().toISOString(), ...(start && { process_start: start }) } satisfies RunLock)}\n`;
  const draft = join(dir, `.run.lock-${draftId}.tmp`);
  writeFileSync(draft, content);
  try {
    // Losing a race for a generation means another process took the folder: look again, once per contender.
    for (let attempt = 0; attempt < 64; attempt++) {
      const existing = generations(dir);
      const top = existing.at(-1) ?? 0;
      if (top > 0) {
        const { state, lock } = holderState(dir, top);
        if (state === "held" || (state === "unknown" && !options.force)) {
          const how = state === "held" ? "wait for it to finish or stop it, then resume" : "if that process is not running this folder (it is on another machine, or its pid was reused), resume with --force-unlock";
          throw new RunConfigError(`${dir} is being run by ${describeHolder(lock!)}: ${how}`);
        }
        if (state === "unknown") process.stderr.write(`warning: taking over ${lockFile(dir, top)} from ${describeHolder(lock!)}; if that process is still running this folder, its results will be mixed with these\n`);
      }
      const mine = top + 1;
      try {
        linkSync(draft, lockFile(dir, mine));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
        throw error;
      }
      // A contender slow since it listed may have created a generation below ours after its file was cleaned up:
      // the highest generation wins, and lower ones are only removed by the holder of a higher one.
      if (generations(dir).some((g) => g > mine)) {
        rmSync(lockFile(dir, mine), { force: true });
        continue;
      }
      for (const g of existing) {
        rmSync(lockFile(dir, g), { force: true });
        rmSync(`${lockFile(dir, g)}${RELEASED}`, { force: true });
      }
      return () => {
        try {
          writeFileSync(`${lockFile(dir, mine)}${RELEASED}`, "");
        } catch {
          // A storage that refuses even this leaves the lock to a process that is about to end: stale once it has.
        }
      };
    }
    throw new RunConfigError(`${dir}: could not take the run lock after 64 attempts; other processes keep taking it`);
  } finally {
    rmSync(draft, { force: true });
  }
}
