import { DuckDBInstance } from "@duckdb/node-api";

/** Rows of a Parquet file, read by DuckDB as any reader would. */
export async function parquetRows(file: string, where = "true"): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}') WHERE ${where}`);
    return reader.getRowObjectsJS().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
