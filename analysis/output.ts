import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** A place `--out` names that cannot be written. CLI exit code 2. */
export class OutputError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "OutputError";
  }
}

const STORAGE_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: "the disk is full (ENOSPC)",
  EDQUOT: "the disk quota is used up (EDQUOT)",
  EROFS: "the file system is read-only (EROFS)",
  EACCES: "permission denied (EACCES)",
  EPERM: "permission denied (EPERM)",
};
// DuckDB reports the operating system's refusal in its message, not as a code.
const DUCKDB_PROBLEMS: readonly (readonly [RegExp, string])[] = [
  [/No space left on device/i, "ENOSPC"],
  [/Disk quota exceeded/i, "EDQUOT"],
  [/Read-only file system/i, "EROFS"],
  [/Permission denied/i, "EACCES"],
];

/** When an error is the storage refusing a write (full, read-only, not permitted), what it is in words; else null. */
export function storageProblem(error: unknown): string | null {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  if (code !== undefined && STORAGE_PROBLEMS[code] !== undefined) return STORAGE_PROBLEMS[code];
  const found = typeof message === "string" ? DUCKDB_PROBLEMS.find(([pattern]) => pattern.test(message)) : undefined;
  return found ? STORAGE_PROBLEMS[found[1]]! : null;
}

/** Why a path cannot be written, in words: the fs error's code, not its stack. */
function reason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === "ENOTDIR") return "a part of the path is a file";
  return storageProblem(error) ?? message;
}

/**
 * Where commands write what they make (run folders, leaderboards, vaccines, reports): checked before the work, each
 * failure one line.
 */

/**
 * Makes the folder `<out>/<name>` a command writes its results into — before the work, so a bad `--out` costs
 * nothing — or says in one line why it cannot (exit 2). `name` must be one safe path segment.
 */
export function makeOutputDir(out: string, name = ""): string {
  const dir = name ? join(out, name) : out;
  if (existsSync(out) && !statSync(out).isDirectory()) throw new OutputError(`--out ${out} is a file, not a folder`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new OutputError(`cannot create ${dir} under --out ${out}: ${reason(whyNotMade(dir, error))}`);
  }
  return dir;
}

/**
 * Node's recursive mkdir says ENOENT where the file system refused (read-only, not permitted): making the first
 * missing folder alone gets the real reason.
 */
function whyNotMade(dir: string, error: unknown): unknown {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") return error;
  let first = dir;
  while (!existsSync(dirname(first)) && dirname(first) !== first) first = dirname(first);
  try {
    mkdirSync(first);
    return error;
  } catch (real) {
    return real;
  }
}

/** Checks that a file can be written where `--out` says (its folder exists and is a folder), before the work. */
export function checkOutputFile(file: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) throw new OutputError(`--out ${file}: the folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new OutputError(`--out ${file}: ${dir} is a file, not a folder`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new OutputError(`--out ${file} is a folder, not a file`);
}

/** Writes one result file, or says in one line why it cannot (exit 2). */
export function writeOutputFile(file: string, content: string | Uint8Array): void {
  try {
    writeFileSync(file, content);
  } catch (error) {
    throw new OutputError(`cannot write ${file}: ${reason(error)}`);
  }
}
