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
  /** Lines dropped because a killed process left them incomplete: their campaigns run again. */
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
 * The content of a run's results, independent of when and how it ran: an MD5 over every row (ordered, without
 * the run id and the wall-clock columns). Two runs of the same matrix have the same digest however they were split
 * across workers, shards or sessions.
 */
export async function resultsDigest(connection: DuckDBConnection, episodes: string, events: string): Promise<{ episodes: string; events: string }> {
  const digest = async (source: string, exclude: string, order: string) => {
    const reader = await connection.runAndReadAll(
      `SELECT coalesce(md5(string_agg(to_json(t)::VARCHAR, '\n' ORDER BY ${order})), md5('')) AS h FROM (SELECT * EXCLUDE (${exclude}) FROM ${source}) t`,
    );
    return String(reader.getRowObjectsJS()[0]!.h);
  };
  return {
    episodes: await digest(episodes, "run_id, duration_ms, defense_us", "episode_id"),
    events: await digest(events, "run_id", "episode_id, seq"),
  };
}

/** Merges the journal into sorted Parquet files, returns their digest, and removes the journal. */
export async function finishJournal(runDir: string): Promise<{ episodes: string; events: string }> {
  const dir = join(runDir, JOURNAL_DIR);
  mkdirSync(dir, { recursive: true });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const files = readdirSync(dir).filter((f) => f.endsWith(".ndjson"));
    const columns = `{campaign: 'VARCHAR', episodes: '${structOf(EPISODE_COLUMNS as readonly Column<unknown>[])}', events: '${structOf(EVENT_COLUMNS as readonly Column<unknown>[])}'}`;
    const empty = (cols: readonly Column<unknown>[]) => `(SELECT ${cols.map((c) => `NULL::${c.type} AS ${c.name}`).join(", ")} WHERE false)`;
    const journal = `read_json(${sqlString(join(dir, "*.ndjson"))}, format = 'newline_delimited', columns = ${columns})`;
    await connection.run(
      files.length === 0
        ? `CREATE TEMP TABLE episodes AS ${empty(EPISODE_COLUMNS as readonly Column<unknown>[])}`
        : `CREATE TEMP TABLE episodes AS SELECT e.* FROM (SELECT unnest(episodes) AS e FROM ${journal})`,
    );
    await connection.run(
      files.length === 0
        ? `CREATE TEMP TABLE events AS ${empty(EVENT_COLUMNS as readonly Column<unknown>[])}`
        : `CREATE TEMP TABLE events AS SELECT e.* FROM (SELECT unnest(events) AS e FROM ${journal})`,
    );
    await connection.run(`COPY (SELECT * FROM episodes ORDER BY episode_id) TO ${sqlString(join(runDir, "episodes.parquet"))} (FORMAT parquet, COMPRESSION zstd)`);
    await connection.run(`COPY (SELECT * FROM events ORDER BY episode_id, seq) TO ${sqlString(join(runDir, "events.parquet"))} (FORMAT parquet, COMPRESSION zstd)`);
    const digest = await resultsDigest(connection, "episodes", "events");
    rmSync(dir, { recursive: true, force: true });
    return digest;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
