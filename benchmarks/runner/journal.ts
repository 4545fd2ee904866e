import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { CampaignResult } from "./episode.ts";
import { type Column, EPISODE_COLUMNS, EVENT_COLUMNS } from "./tables.ts";

/**
 * A run's durable record of finished campaigns, in `<run>/journal/`: each writer (one per worker thread and
 * session) appends to its own file one JSON line per campaign, episodes and events together, so a campaign is
 * either wholly recorded or not at all. A process killed mid-write leaves at most a torn last line, which
 * {@link recoverJournal} drops so its campaign runs again. When the run ends, {@link finishJournal} turns the
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
  append(campaignId: string, result: CampaignResult): void {
    writeSync(this.fd, `${JSON.stringify({ campaign: campaignId, episodes: result.episodes, events: result.events })}\n`);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export interface JournalState {
  /** Campaigns recorded whole, with their episode and error counts. */
  readonly done: Map<string, { readonly episodes: number; readonly errorCodes: Record<string, number> }>;
  /** Lines dropped: torn by a killed process (their campaigns run again), or repeating a campaign already recorded. */
  readonly tornLines: number;
  /** Files in the journal, so a new session's writers can take fresh names. */
  readonly files: number;
}

interface JournalLine {
  campaign: string;
  episodes: { error: string | null }[];
}

/** Reads what a run has recorded; rewrites any file with a torn line to its whole lines (atomically). */
export function recoverJournal(runDir: string): JournalState {
  const dir = join(runDir, JOURNAL_DIR);
  const done = new Map<string, { episodes: number; errorCodes: Record<string, number> }>();
  let tornLines = 0;
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".ndjson")).sort() : [];
  for (const name of files) {
    const file = join(dir, name);
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n");
    // A file's text ends with "\n" when its last write finished: the final element is then "".
    const whole: string[] = [];
    for (const [i, line] of lines.entries()) {
      if (line === "" && i === lines.length - 1) continue;
      const parsed = i === lines.length - 1 ? null : parseLine(line);
      if (parsed === null || done.has(parsed.campaign)) {
        tornLines++;
        continue;
      }
      whole.push(line);
      done.set(parsed.campaign, { episodes: parsed.episodes.length, errorCodes: errorCodesOf(parsed.episodes) });
    }
    if (whole.length !== lines.length - 1 || !text.endsWith("\n")) {
      writeFileSync(`${file}.tmp`, whole.length > 0 ? `${whole.join("\n")}\n` : "");
      renameSync(`${file}.tmp`, file);
    }
  }
  return { done, tornLines, files: files.length };
}

/** Errored episodes by error code. */
export function errorCodesOf(episodes: readonly { error: string | null }[]): Record<string, number> {
  const codes: Record<string, number> = {};
  for (const e of episodes) if (e.error !== null) codes[e.error] = (codes[e.error] ?? 0) + 1;
  return codes;
}

function parseLine(line: string): JournalLine | null {
  try {
    const parsed = JSON.parse(line) as JournalLine;
    return typeof parsed.campaign === "string" && Array.isArray(parsed.episodes) ? parsed : null;
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
 * Merges the journal into sorted Parquet files, returns their digest, and removes the journal. DuckDB streams and
 * sorts with spilling to the run folder, so memory stays bounded however long the run was.
 */
export async function finishJournal(runDir: string): Promise<{ episodes: string; events: string }> {
  const dir = join(runDir, JOURNAL_DIR);
  mkdirSync(dir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:", { temp_directory: join(runDir, ".spill"), memory_limit: "2GB" });
  const connection = await instance.connect();
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith(".ndjson"));
    const episodeColumns = EPISODE_COLUMNS as readonly Column<unknown>[];
    const eventColumns = EVENT_COLUMNS as readonly Column<unknown>[];
    const columns = `{campaign: 'VARCHAR', episodes: '${structOf(episodeColumns)}', events: '${structOf(eventColumns)}'}`;
    const journal = `read_json(${sqlString(join(dir, "*.ndjson"))}, format = 'newline_delimited', columns = ${columns})`;
    const rows = (field: string, cols: readonly Column<unknown>[]) =>
      files.length === 0
        ? `SELECT ${cols.map((c) => `NULL::${c.type} AS ${c.name}`).join(", ")} WHERE false`
        : `SELECT r.* FROM (SELECT unnest(${field}) AS r FROM ${journal})`;
    const episodes = join(runDir, "episodes.parquet");
    const events = join(runDir, "events.parquet");
    await connection.run(`COPY (SELECT * FROM (${rows("episodes", episodeColumns)}) ORDER BY episode_id) TO ${sqlString(episodes)} (FORMAT parquet, COMPRESSION zstd)`);
    await connection.run(`COPY (SELECT * FROM (${rows("events", eventColumns)}) ORDER BY episode_id, seq) TO ${sqlString(events)} (FORMAT parquet, COMPRESSION zstd)`);
    const digest = await resultsDigest(connection, `read_parquet(${sqlString(episodes)})`, `read_parquet(${sqlString(events)})`);
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(runDir, ".spill"), { recursive: true, force: true });
    return digest;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
