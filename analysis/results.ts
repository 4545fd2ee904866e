import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

/** A run folder that cannot be read: missing, or without results. CLI exit code 2. */
export class ResultsError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "ResultsError";
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const VIEWS = readFileSync(new URL("./sql/views.sql", import.meta.url), "utf8");

/** An embedded DuckDB with `episodes` and `events` views over one or many run folders, and the metric views. */
export interface ResultsDatabase {
  readonly connection: DuckDBConnection;
  readonly runDirs: readonly string[];
  close(): void;
}

/**
 * Opens run folders (several machines' folders merge by listing them side by side). Each must hold
 * `episodes.parquet` and `events.parquet` as the runner writes them.
 */
export async function openResults(runDirs: readonly string[], options: { baseline?: string } = {}): Promise<ResultsDatabase> {
  if (runDirs.length === 0) throw new ResultsError("no run folder given: pass one or more results/<run-id> folders");
  for (const dir of runDirs) {
    if (!existsSync(join(dir, "episodes.parquet"))) {
      throw new ResultsError(`${dir}: not a finished run folder (no episodes.parquet). A run folder is results/<run-id>/ as written by \`anis run\`.`);
    }
  }
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const list = (file: string) => `[${runDirs.map((d) => sqlString(join(d, file))).join(", ")}]`;
  await connection.run(`CREATE VIEW episodes AS SELECT * FROM read_parquet(${list("episodes.parquet")}, union_by_name = true)`);
  await connection.run(`CREATE VIEW events AS SELECT * FROM read_parquet(${list("events.parquet")}, union_by_name = true)`);
  await connection.run(`SET VARIABLE baseline = ${sqlString(options.baseline ?? "none")}`);
  await connection.run(VIEWS);
  return {
    connection,
    runDirs,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Rows as plain objects, BIGINTs as numbers. */
export async function queryRows(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
}
