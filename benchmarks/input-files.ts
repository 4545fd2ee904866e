import { closeSync, fstatSync, openSync, readdirSync, readSync, realpathSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";

/** The largest input file read (a case, family, task or configuration file): far above any real one. */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/** An input path that cannot be read as a JSON file: bad input (exit 2), named. */
export class InputFileError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "InputFileError";
  }
}

const kindOf = (stats: Stats) =>
  stats.isFIFO() ? "a FIFO" : stats.isCharacterDevice() || stats.isBlockDevice() ? "a device" : stats.isSocket() ? "a socket" : stats.isDirectory() ? "a folder" : "not a regular file";

/**
 * A JSON file, or the JSON files under a folder (recursively, in name order). Symbolic links are followed, each
 * folder entered once (a link back up a tree is a loop, not a longer walk), and a `.json` entry that is not a
 * regular file (a FIFO, a device, a socket) is refused by name: reading one would wait or never end.
 */
export function jsonFilesOf(path: string): string[] {
  const top = statSync(path);
  if (!top.isDirectory()) return [path];
  const files: string[] = [];
  const entered = new Set<string>();
  const walk = (dir: string) => {
    const real = realpathSync(dir);
    if (entered.has(real)) return;
    entered.add(real);
    for (const name of readdirSync(dir).sort()) {
      const child = join(dir, name);
      let stats: Stats;
      try {
        stats = statSync(child);
      } catch {
        // A dangling link names nothing to read.
        continue;
      }
      if (stats.isDirectory()) walk(child);
      else if (name.endsWith(".json")) {
        if (!stats.isFile()) throw new InputFileError(`${child}: ${kindOf(stats)}, not a file: only JSON files are read`);
        files.push(child);
      }
    }
  };
  walk(path);
  return files;
}

/**
 * A file's text, read only when it is a regular file of at most {@link MAX_INPUT_BYTES} — `/dev/zero`, a FIFO or a
 * file that grows while read would otherwise take the memory or the time of the run.
 */
export function readInputFile(file: string): string {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (error) {
    throw new InputFileError(`${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or folder" : (error as Error).message}`);
  }
  if (stats.isDirectory()) throw new InputFileError(`${file}: a folder; name the JSON files in it, or the folder where a command takes folders (--cases, --families, --tasks)`);
  if (!stats.isFile()) throw new InputFileError(`${file}: ${kindOf(stats)}, not a file: only JSON files are read`);
  if (stats.size > MAX_INPUT_BYTES) throw new InputFileError(`${file}: ${stats.size} bytes, more than the ${MAX_INPUT_BYTES} an input file may have`);
  const fd = openSync(file, "r");
  try {
    if (!fstatSync(fd).isFile()) throw new InputFileError(`${file}: changed into something that is not a file while opened`);
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(stats.size + 1, 65_536));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      size += read;
      if (size > MAX_INPUT_BYTES) throw new InputFileError(`${file}: grew past the ${MAX_INPUT_BYTES} bytes an input file may have while it was read`);
    }
    return Buffer.concat(chunks, size).toString("utf8");
  } finally {
    closeSync(fd);
  }
}
