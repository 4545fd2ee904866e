import { once } from "node:events";
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { crc32 } from "node:zlib";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { sqlLiteralPath } from "../../analysis/paths.ts";
import type { CampaignResult } from "./episode.ts";
import { type Column, EPISODE_COLUMNS, EVENT_COLUMNS } from "./tables.ts";

/**
 * A run's durable record of finished campaigns, in `<run>/journal/`: each writer (one per worker thread and
 * session) appends to its own file one JSON line per campaign, episodes and events together, so a campaign is
 * either wholly recorded or not at all. A process killed mid-write leaves at most a torn last line, which
 * {@link recoverJournal} drops so its campaign runs again. Each line ends with a CRC-32 of its record, so a byte
 * flipped on disk is a dropped, counted line, not a moved number. When the run ends, {@link finishJournal} turns the
 * journal into `episodes.parquet` and `events.parquet`.
 */
export const JOURNAL_DIR = "journal";

export class JournalWriter {
  private readonly fd: number;
  constructor(readonly file: string) {
    mkdirSync(join(file, ".."), { recursive: true });
    this.fd = openSync(file, "a");
  }

  /** One write call per campaign: the line lands whole or, if the process dies during it, torn and detectable. */
  /** Returns the campaign's errored episodes by code, as its record's header says. */
  append(campaignId: string, result: CampaignResult): Record<string, number> {
    const header = { campaign: campaignId, n: result.episodes.length, errors: errorCodesOf(result.episodes) };
    writeSync(this.fd, withChecksum(JSON.stringify({ ...header, episodes: result.episodes, events: result.events })));
    return header.errors;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** A record's line: its JSON object with a last field, `crc`, the CRC-32 of the object without it. */
export const withChecksum = (record: string) => `${record.slice(0, -1)},"crc":"${crc32(record).toString(16).padStart(8, "0")}"}\n`;

const CHECKSUM = /,"crc":"([0-9a-f]{8})"\}$/;
const CHECKSUM_BYTES = ',"crc":"00000000"}'.length;
const CLOSE = Buffer.from("}");

/** Whether a line (bytes, without its newline) ends with a checksum, and whether the checksum matches. */
function checksumOf(line: Buffer): "none" | "ok" | "bad" {
  if (line.length < CHECKSUM_BYTES) return "none";
  const match = CHECKSUM.exec(line.toString("latin1", line.length - CHECKSUM_BYTES));
  if (match === null) return "none";
  return crc32(CLOSE, crc32(line.subarray(0, line.length - CHECKSUM_BYTES))) === Number.parseInt(match[1]!, 16) ? "ok" : "bad";
}

export interface JournalState {
  /** Campaigns recorded whole, with their episode and error counts. */
  readonly done: Map<string, { readonly episodes: number; readonly errorCodes: Record<string, number> }>;
  /** Lines dropped: torn by a killed process (their campaigns run again), or repeating a campaign already recorded. */
  readonly tornLines: number;
  /**
   * Lines dropped by reason: `torn` (not a whole record), `corrupt` (whole, but its checksum does not match: changed
   * on disk), `repeated` (a campaign already recorded), `unknown` (a campaign not in the run), `errored` (a campaign
   * with an errored episode, when errors are retried).
   */
  readonly dropped: JournalDrops;
  /** Files in the journal, so a new session's writers can take fresh names. */
  readonly files: number;
}

export interface JournalDrops {
  readonly torn: number;
  readonly corrupt: number;
  readonly repeated: number;
  readonly unknown: number;
  readonly errored: number;
}

interface JournalLine {
  campaign: string;
  episodes: { error: string | null }[];
}

/** What a record says of itself before its episodes: campaign, episode count, errors by code. */
interface RecordHeader {
  readonly campaign: string;
  readonly n: number;
  readonly errors: Record<string, number>;
}

const EPISODES = Buffer.from(',"episodes":[');

/** A record's header, read without its episodes and events; null when it has none. */
function headerOf(line: Buffer): RecordHeader | null {
  const at = line.indexOf(EPISODES);
  if (at < 0) return null;
  try {
    const header = JSON.parse(`${line.toString("utf8", 0, at)}}`) as RecordHeader;
    return typeof header.campaign === "string" && Number.isInteger(header.n) && header.errors !== null && typeof header.errors === "object" ? header : null;
  } catch {
    return null;
  }
}

/**
 * A file's lines as bytes with their offsets, read in chunks: a journal can be larger than memory should hold. The
 * last item is what follows the last newline (empty when the file ends with one).
 */
function* fileLines(file: string): Generator<{ readonly line: Buffer; readonly start: number; readonly last: boolean }> {
  const fd = openSync(file, "r");
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let offset = 0;
    let start = 0;
    for (let read = readSync(fd, chunk, 0, chunk.length, null); read > 0; read = readSync(fd, chunk, 0, chunk.length, null)) {
      const bytes = chunk.subarray(0, read);
      let from = 0;
      for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, from)) {
        const piece = bytes.subarray(from, nl);
        const line = pendingBytes > 0 ? Buffer.concat([...pending, piece]) : Buffer.from(piece);
        yield { line, start, last: false };
        start = offset + nl + 1;
        pending = [];
        pendingBytes = 0;
        from = nl + 1;
      }
      if (from < read) {
        pending.push(Buffer.from(bytes.subarray(from)));
        pendingBytes += read - from;
      }
      offset += read;
    }
    yield { line: Buffer.concat(pending), start, last: true };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads what a run has recorded and rewrites any file with a dropped line to its whole lines (atomically). Only
 * campaigns of the run's matrix (`campaigns`, with their planned episode counts when given) count as done: a line
 * for any other campaign is a stranger's and is dropped, as are torn and corrupt lines and repeats. Every line is
 * checked against its checksum; `headersOnly` then reads just each record's header — for the check at the end of a
 * session, whose own lines it wrote and whose earlier lines were checked in full when it began.
 */
export function recoverJournal(
  runDir: string,
  campaigns: ReadonlySet<string> | ReadonlyMap<string, number>,
  options: { readonly dropErrored?: boolean; readonly headersOnly?: boolean } = {},
): JournalState {
  // With the planned number of episodes per campaign, a record with another number is not this run's.
  const planned = (id: string, episodes: number) => (campaigns instanceof Map ? campaigns.get(id) === episodes : campaigns.has(id));
  const dir = join(runDir, JOURNAL_DIR);
  const done = new Map<string, { episodes: number; errorCodes: Record<string, number> }>();
  const dropped = { torn: 0, corrupt: 0, repeated: 0, unknown: 0, errored: 0 };
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ndjson")).sort() : [];
  for (const name of files) {
    const file = join(dir, name);
    const kept: { start: number; length: number }[] = [];
    let changed = false;
    for (const { line, start, last } of fileLines(file)) {
      if (last) {
        // A file whose last write finished ends with "\n"; anything after it is a write cut short.
        if (line.length > 0) {
          dropped.torn++;
          changed = true;
        }
        continue;
      }
      const checksum = checksumOf(line);
      const record = checksum === "ok" ? (options.headersOnly ? headerOf(line) : fullRecord(line)) : null;
      const reason =
        checksum === "bad"
          ? "corrupt"
          : record === null
            ? "torn"
            : !planned(record.campaign, record.n)
              ? "unknown"
              : done.has(record.campaign)
                ? "repeated"
                : options.dropErrored && Object.keys(record.errors).length > 0
                  ? "errored"
                  : null;
      if (reason !== null || record === null) {
        dropped[reason ?? "torn"]++;
        changed = true;
        continue;
      }
      kept.push({ start, length: line.length + 1 });
      done.set(record.campaign, { episodes: record.n, errorCodes: record.errors });
    }
    if (changed) keepOnly(file, kept);
  }
  return { done, tornLines: Object.values(dropped).reduce((a, b) => a + b, 0), dropped, files: files.length };
}

/** A record read in full and checked as a stranger's would be, as its header; null when it is not whole. */
function fullRecord(line: Buffer): RecordHeader | null {
  let text: string;
  try {
    // A line that is not valid UTF-8 is torn, though JavaScript would decode it.
    text = UTF8.decode(line);
  } catch {
    return null;
  }
  const parsed = parseLine(`${text.slice(0, -CHECKSUM_BYTES)}}`);
  if (parsed === null) return null;
  // The header must say what the episodes say: it is what the end of a session reads.
  const header = headerOf(line);
  const errors = errorCodesOf(parsed.episodes);
  const same = header !== null && header.campaign === parsed.campaign && header.n === parsed.episodes.length && JSON.stringify(sortedKeys(header.errors)) === JSON.stringify(sortedKeys(errors));
  return same ? header : null;
}

const sortedKeys = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Rewrites a file to the given byte ranges of it, atomically. */
function keepOnly(file: string, ranges: readonly { start: number; length: number }[]): void {
  const from = openSync(file, "r");
  const to = openSync(`${file}.tmp`, "w");
  try {
    for (const { start, length } of ranges) {
      const bytes = Buffer.allocUnsafe(length);
      readSync(from, bytes, 0, length, start);
      writeSync(to, bytes);
    }
  } finally {
    closeSync(from);
    closeSync(to);
  }
  renameSync(`${file}.tmp`, file);
}

/** Errored episodes by error code. */
export function errorCodesOf(episodes: readonly { error: string | null }[]): Record<string, number> {
  const codes: Record<string, number> = {};
  for (const e of episodes) if (e.error !== null) codes[e.error] = (codes[e.error] ?? 0) + 1;
  return codes;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A value fits a column when it is absent, null, or of the column's type: what the Parquet merge can read. */
const FITS: Record<string, (v: unknown) => boolean> = {
  VARCHAR: (v) => typeof v === "string",
  BOOLEAN: (v) => typeof v === "boolean",
  INTEGER: (v) => Number.isInteger(v) && Math.abs(v as number) <= 2 ** 31 - 1,
  DOUBLE: (v) => typeof v === "number" && Number.isFinite(v),
};
const rowFits = (row: unknown, columns: readonly Column<unknown>[]) =>
  row !== null && typeof row === "object" && !Array.isArray(row) && columns.every((c) => {
    const v = (row as Record<string, unknown>)[c.name];
    return v === undefined || v === null || FITS[c.type]!(v);
  });

function parseLine(line: string): JournalLine | null {
  try {
    const parsed = JSON.parse(line) as JournalLine & { events?: unknown[] };
    const whole = typeof parsed?.campaign === "string" && Array.isArray(parsed.episodes) && Array.isArray(parsed.events);
    // A line from a stranger or a damaged disk is whole only when every row has the columns' types.
    const typed =
      whole &&
      parsed.episodes.every((e) => rowFits(e, EPISODE_COLUMNS as readonly Column<unknown>[]) && (e.error === null || typeof e.error === "string")) &&
      parsed.events!.every((e) => rowFits(e, EVENT_COLUMNS as readonly Column<unknown>[]));
    return typed ? parsed : null;
  } catch {
    return null;
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const structOf = (columns: readonly Column<unknown>[]) => `STRUCT(${columns.map((c) => `${c.name} ${c.type}`).join(", ")})[]`;

/**
 * The content of a run's results, independent of when and how it ran: a digest over every row (without the run id
 * and the wall-clock columns). Two runs of the same matrix have the same digest however they were split across
 * workers, shards or sessions. Order-free (a sum of per-row MD5s, with the row count), so it streams in constant
 * memory however large the run.
 */
export async function resultsDigest(connection: DuckDBConnection, episodes: string, events: string): Promise<{ episodes: string; events: string }> {
  const digest = async (source: string, exclude: string) => {
    const reader = await connection.runAndReadAll(
      `SELECT md5(concat_ws(':', count(*), sum(md5_number_lower(r)::HUGEINT), sum(md5_number_upper(r)::HUGEINT))) AS h
       FROM (SELECT to_json(t)::VARCHAR AS r FROM (SELECT * EXCLUDE (${exclude}) FROM ${source}) t)`,
    );
    return String(reader.getRowObjectsJS()[0]!.h);
  };
  return { episodes: await digest(episodes, "run_id, duration_ms, defense_us"), events: await digest(events, "run_id") };
}

/**
 * Puts a finished run's results back into its journal, one line per campaign as the runner wrote it, so the run can
 * continue (`--retry-errors`). The Parquet files stay until the journal is merged again.
 */
export async function reopenJournal(runDir: string): Promise<void> {
  const dir = join(runDir, JOURNAL_DIR);
  mkdirSync(dir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", { temp_directory: join(runDir, ".spill"), memory_limit: "2GB" });
  const connection = await instance.connect();
  const [episodes, events] = [join(runDir, "episodes.parquet"), join(runDir, "events.parquet")].map(sqlLiteralPath);
  const target = join(dir, "reopened.ndjson");
  try {
    await connection.run(
      `COPY (
         SELECT e.campaign_id AS campaign, e.episodes, coalesce(v.events, []) AS events
         FROM (SELECT campaign_id, list(x ORDER BY x.campaign_pos) AS episodes FROM read_parquet(${episodes}) x GROUP BY campaign_id) e
         LEFT JOIN (SELECT p.campaign_id, list(v ORDER BY v.episode_id, v.seq) AS events
                    FROM read_parquet(${events}) v JOIN read_parquet(${episodes}) p USING (episode_id) GROUP BY p.campaign_id) v
           ON v.campaign_id = e.campaign_id
         ORDER BY campaign
       ) TO ${sqlString(`${target}.json`)} (FORMAT json)`,
    );
    await checksumLines(`${target}.json`, `${target}.tmp`);
    rmSync(`${target}.json`);
    renameSync(`${target}.tmp`, target);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Copies a file of JSON lines as records with their header and checksum, streaming: a finished run's journal can be large. */
async function checksumLines(from: string, to: string): Promise<void> {
  const out = createWriteStream(to);
  for await (const line of createInterface({ input: createReadStream(from), crlfDelay: Infinity })) {
    if (line.length === 0) continue;
    const { campaign, episodes, events } = JSON.parse(line) as { campaign: string; episodes: { error: string | null }[]; events: unknown[] };
    const record = JSON.stringify({ campaign, n: episodes.length, errors: errorCodesOf(episodes), episodes, events });
    if (!out.write(withChecksum(record))) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

/**
 * Merges the journal into sorted Parquet files, returns their digest, and removes the journal. DuckDB streams and
 * sorts with spilling to the run folder, so memory stays bounded however long the run was.
 */
export async function finishJournal(runDir: string): Promise<{ episodes: string; events: string }> {
  const dir = join(runDir, JOURNAL_DIR);
  mkdirSync(dir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", { temp_directory: join(runDir, ".spill"), memory_limit: "2GB" });
  const connection = await instance.connect();
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith(".ndjson")).map((f) => join(dir, f));
    const episodeColumns = EPISODE_COLUMNS as readonly Column<unknown>[];
    const eventColumns = EVENT_COLUMNS as readonly Column<unknown>[];
    const columns = `{campaign: 'VARCHAR', episodes: '${structOf(episodeColumns)}', events: '${structOf(eventColumns)}'}`;
    // This run's files by name: a pattern would also read what another folder's name happens to match.
    const journal = `read_json([${files.map(sqlLiteralPath).join(", ")}], format = 'newline_delimited', columns = ${columns})`;
    const rows = (field: string, cols: readonly Column<unknown>[]) =>
      files.length === 0
        ? `SELECT ${cols.map((c) => `NULL::${c.type} AS ${c.name}`).join(", ")} WHERE false`
        : `SELECT r.* FROM (SELECT unnest(${field}) AS r FROM ${journal})`;
    const episodes = join(runDir, "episodes.parquet");
    const events = join(runDir, "events.parquet");
    // Written aside and renamed: a disk that fills mid-write leaves no half file a reader would take for results.
    await connection.run(`COPY (SELECT * FROM (${rows("episodes", episodeColumns)}) ORDER BY episode_id) TO ${sqlString(`${episodes}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`);
    await connection.run(`COPY (SELECT * FROM (${rows("events", eventColumns)}) ORDER BY episode_id, seq) TO ${sqlString(`${events}.tmp`)} (FORMAT parquet, COMPRESSION zstd)`);
    renameSync(`${events}.tmp`, events);
    renameSync(`${episodes}.tmp`, episodes);
    const digest = await resultsDigest(connection, `read_parquet(${sqlLiteralPath(episodes)})`, `read_parquet(${sqlLiteralPath(events)})`);
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(runDir, ".spill"), { recursive: true, force: true });
    return digest;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
