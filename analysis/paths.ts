/**
 * Names and paths that come from strangers' files and flags. A run id names one folder inside a results folder, so
 * it is a single path segment of a safe charset; a path handed to DuckDB is read literally, never as a pattern.
 */

/** Letters, digits, `.`, `_`, `-`; starts with a letter or digit (so never `.` or `..`); at most 128 characters. */
export const RUN_ID_RULE = "a run id is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit";
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const isRunId = (id: unknown): id is string => typeof id === "string" && RUN_ID.test(id);

/** The time now as run ids and result folders carry it: `20261129T205807Z`. */
export const runStamp = (): string => new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

/** A configuration name made fit to be part of a run id: every other character becomes `-`. */
export const runIdPart = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 80) || "run";

/**
 * A file path as DuckDB must read it: DuckDB expands `*`, `?` and `[…]` in every path it opens, so a folder named
 * `r?` would also read `r1`. Each such character becomes a one-character class that matches only itself.
 */
export const duckdbLiteralPath = (path: string): string => path.replace(/[*?[]/g, (c) => `[${c}]`);

/** A path as an SQL string literal that DuckDB reads literally. */
export const sqlLiteralPath = (path: string): string => `'${duckdbLiteralPath(path).replaceAll("'", "''")}'`;
