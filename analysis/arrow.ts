import { Bool, Float64, type DataType, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";

/**
 * Result rows as an Apache Arrow table: what notebooks (pandas, polars), Observable and Perspective read. A column of
 * numbers is Float64, of booleans Bool, anything else Utf8 (lists and objects as JSON); nulls stay nulls. Strings are
 * built as plain Utf8, not dictionaries, so every reader sees them as text.
 */
export function rowsToTable(rows: readonly Record<string, unknown>[]): Table {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const columns = Object.fromEntries(
    names.map((name) => {
      const values = rows.map((r) => (r[name] === undefined ? null : r[name]));
      const present = values.filter((v) => v !== null);
      const type: DataType = present.length > 0 && present.every((v) => typeof v === "number") ? new Float64() : present.length > 0 && present.every((v) => typeof v === "boolean") ? new Bool() : new Utf8();
      const cells = type instanceof Utf8 ? values.map((v) => (v === null ? null : typeof v === "string" ? v : JSON.stringify(v))) : values;
      return [name, vectorFromArray(cells, type)];
    }),
  );
  return new Table(columns);
}

/** An Arrow IPC file (the `.arrow` format pandas' `read_feather` / polars' `read_ipc` open). */
export const tableToArrowFile = (table: Table): Uint8Array => tableToIPC(table, "file");
