import { createReadStream, lstatSync, openSync, readdirSync, readFileSync, readSync, closeSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { Parser, type ReadEntry } from "tar";

/** A source of run logs that cannot be read at all (missing, not a folder or archive, a broken archive). Exit 2. */
export class TrajectorySourceError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "TrajectorySourceError";
  }
}

/** A log larger than this is refused, not read: AgentDojo's largest is under 0.5 MB. */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** One file of a source: its bytes, or why it was not read (each such file is named in the import's report). */
export type SourceFile = { readonly path: string; readonly bytes: Uint8Array } | { readonly path: string; readonly skipped: string };

const GZIP_MAGIC = [0x1f, 0x8b];
const isJson = (path: string) => path.endsWith(".json");

/** The first bytes of a file, to tell an archive by its content rather than its name. */
function head(path: string, n: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(n);
    const read = readSync(fd, buffer, 0, n, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Whether a regular file is a tar archive, gzipped or not (`ustar` at offset 257). */
function isArchive(path: string): boolean {
  const start = head(path, 262);
  if (start[0] === GZIP_MAGIC[0] && start[1] === GZIP_MAGIC[1]) return true;
  return start.subarray(257, 262).toString("latin1") === "ustar";
}

/**
 * Reads every file of a source — a folder (AgentDojo's `runs/` or any folder above it), a tar archive of one
 * (gzipped or not: the shipped `runs.tar.gz`), or one `.json` log — and hands each to `visit` as it comes, so the
 * source is never held in memory whole. Symbolic links are not followed and special files (FIFOs, devices) are not
 * opened: each is reported as skipped, as is any file over {@link MAX_LOG_BYTES}. Folders are walked in sorted order.
 */
export async function readSource(from: string, visit: (file: SourceFile) => void): Promise<"folder" | "archive" | "file"> {
  let stat;
  try {
    stat = statSync(from);
  } catch {
    throw new TrajectorySourceError(`${from}: not found. Give AgentDojo's runs/ folder (or a folder above it), a .tar or .tar.gz of it, or one .json log`);
  }
  if (stat.isDirectory()) {
    walkFolder(from, visit);
    return "folder";
  }
  if (!stat.isFile()) throw new TrajectorySourceError(`${from}: not a folder, an archive or a .json log (a special file is not read)`);
  if (isArchive(from)) {
    await readArchive(from, visit);
    return "archive";
  }
  if (isJson(from)) {
    visit(stat.size > MAX_LOG_BYTES ? { path: from, skipped: `larger than ${MAX_LOG_BYTES} bytes` } : { path: from, bytes: readFileSync(from) });
    return "file";
  }
  throw new TrajectorySourceError(`${from}: not a folder, a .tar or .tar.gz archive, or a .json log`);
}

function walkFolder(root: string, visit: (file: SourceFile) => void): void {
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (error) {
      visit({ path: relative(root, dir) || ".", skipped: `folder not readable (${(error as NodeJS.ErrnoException).code ?? "error"})` });
      continue;
    }
    const folders: string[] = [];
    for (const name of names) {
      const path = join(dir, name);
      const shown = relative(root, path).split(sep).join("/");
      const entry = lstatSync(path);
      if (entry.isSymbolicLink()) visit({ path: shown, skipped: "a symbolic link (not followed)" });
      else if (entry.isDirectory()) folders.push(path);
      else if (!entry.isFile()) visit({ path: shown, skipped: "not a regular file" });
      else if (entry.size > MAX_LOG_BYTES) visit({ path: shown, skipped: `larger than ${MAX_LOG_BYTES} bytes` });
      else visit({ path: shown, bytes: readFileSync(path) });
    }
    // Depth first, in name order: the stack takes the last pushed first.
    pending.push(...folders.reverse());
  }
}

function readArchive(file: string, consume: (file: SourceFile) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file);
    let failed = false;
    // What the consumer throws (a full disk) ends the read; the archive's own faults are named as the archive's.
    const visit = (item: SourceFile) => {
      if (failed) return;
      try {
        consume(item);
      } catch (error) {
        failed = true;
        stream.destroy();
        reject(error);
      }
    };
    const parser = new Parser({
      strict: true,
      onReadEntry(entry: ReadEntry) {
        const path = entry.path.replace(/^\.\//, "");
        if (entry.type === "Directory") return void entry.resume();
        if (entry.type !== "File" && entry.type !== "OldFile" && entry.type !== "ContiguousFile") {
          visit({ path, skipped: `a ${entry.type} entry, not a file` });
          return void entry.resume();
        }
        if ((entry.size ?? 0) > MAX_LOG_BYTES) {
          visit({ path, skipped: `larger than ${MAX_LOG_BYTES} bytes` });
          return void entry.resume();
        }
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
        entry.on("end", () => visit({ path, bytes: Buffer.concat(chunks) }));
      },
    });
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      reject(new TrajectorySourceError(`${file}: not a readable tar archive (${error.message})`));
    };
    parser.on("error", fail);
    parser.on("end", () => failed || resolve());
    stream.on("error", fail);
    stream.pipe(parser);
  });
}
