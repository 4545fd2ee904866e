import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type DuckDBAppender, type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { type Column, EPISODE_COLUMNS, type EpisodeRow, EVENT_COLUMNS, type EventRow } from "./tables.ts";

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

class TableSink<R> {
  private pending = 0;
  private parts = 0;
  constructor(
    private readonly connection: DuckDBConnection,
    private readonly appender: DuckDBAppender,
    readonly table: string,
    private readonly columns: readonly Column<R>[],
    private readonly partsDir: string,
    private readonly rowsPerPart: number,
  ) {}

  static async open<R>(connection: DuckDBConnection, table: string, columns: readonly Column<R>[], partsDir: string, rowsPerPart: number) {
    await connection.run(`CREATE TABLE ${table} (${columns.map((c) => `${c.name} ${c.type}`).join(", ")})`);
    return new TableSink(connection, await connection.createAppender(table), table, columns, partsDir, rowsPerPart);
  }

  async append(row: R): Promise<void> {
    for (const column of this.columns) {
      const value = row[column.name] as unknown;
      if (value === null || value === undefined) this.appender.appendNull();
      else if (column.type === "VARCHAR") this.appender.appendVarchar(String(value));
      else if (column.type === "BOOLEAN") this.appender.appendBoolean(Boolean(value));
      else if (column.type === "INTEGER") this.appender.appendInteger(Number(value));
      else this.appender.appendDouble(Number(value));
    }
    this.appender.endRow();
    if (++this.pending >= this.rowsPerPart) await this.writePart();
  }

  /** Moves buffered rows to a numbered Parquet part, so memory stays flat however long the run. */
  async writePart(): Promise<void> {
    if (this.pending === 0) return;
    this.appender.flushSync();
    const file = join(this.partsDir, `${this.table}-${String(this.parts++).padStart(5, "0")}.parquet`);
    await this.connection.run(`COPY ${this.table} TO ${sqlString(file)} (FORMAT parquet)`);
    await this.connection.run(`DELETE FROM ${this.table}`);
    this.pending = 0;
  }

  /** Merges the parts into one sorted Parquet file (an empty one with the schema when there are none). */
  async finish(target: string, orderBy: string): Promise<void> {
    await this.writePart();
    this.appender.closeSync();
    const parts = readdirSync(this.partsDir).filter((f) => f.startsWith(`${this.table}-`));
    const source = parts.length > 0 ? `read_parquet(${sqlString(join(this.partsDir, `${this.table}-*.parquet`))})` : this.table;
    await this.connection.run(`COPY (SELECT * FROM ${source} ORDER BY ${orderBy}) TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd)`);
  }
}

/**
 * Streams a run's episodes and events to Parquet through an embedded DuckDB: rows go to an appender, every
 * `rowsPerPart` rows become a part file, and `close` merges the parts into `episodes.parquet` and `events.parquet`.
 */
export class ResultsWriter {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly episodes: TableSink<EpisodeRow>,
    private readonly events: TableSink<EventRow>,
    private readonly dir: string,
    private readonly partsDir: string,
  ) {}

  static async open(dir: string, rowsPerPart = 20_000): Promise<ResultsWriter> {
    const partsDir = join(dir, "parts");
    mkdirSync(partsDir, { recursive: true });
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const episodes = await TableSink.open(connection, "episodes", EPISODE_COLUMNS, partsDir, rowsPerPart);
    const events = await TableSink.open(connection, "events", EVENT_COLUMNS, partsDir, rowsPerPart * 20);
    return new ResultsWriter(instance, connection, episodes, events, dir, partsDir);
  }

  async write(episodes: readonly EpisodeRow[], events: readonly EventRow[]): Promise<void> {
    for (const row of episodes) await this.episodes.append(row);
    for (const row of events) await this.events.append(row);
  }

  async close(): Promise<void> {
    await this.episodes.finish(join(this.dir, "episodes.parquet"), "episode_id");
    await this.events.finish(join(this.dir, "events.parquet"), "episode_id, seq");
    this.connection.closeSync();
    this.instance.closeSync();
    rmSync(this.partsDir, { recursive: true, force: true });
  }
}
