import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlLiteralPath } from "./paths.ts";
import { queryRows, ResultsError, STATS } from "./results.ts";

const REPLAY_SQL = readFileSync(new URL("./sql/replay.sql", import.meta.url), "utf8");
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** What a replay folder's `replay.json` says, as this reader relies on it (benchmarks/trajectories/replay.ts writes it). */
export interface ReplayManifestView {
  readonly kind: "replay";
  readonly trajectories: { readonly source: string; readonly digest: string; readonly runs: number };
  readonly configurations: readonly {
    readonly name: string;
    readonly description: string;
    readonly trained_on: readonly string[];
    readonly replayed: readonly string[];
    readonly not_replayed: readonly { readonly layer: string; readonly reason: string }[];
    readonly errors: number;
  }[];
  readonly seen_overlap: readonly { readonly attack: string; readonly texts: number; readonly sharing: number; readonly longest_median: number }[];
}

/**
 * One share: of `n` units (texts or calls), `flagged` flagged. `errors`: units a layer failed on, counted at their cost —
 * a miss on injected texts and attacker calls, a flag on clean texts and benign calls.
 */
export interface ShareRow {
  readonly configuration: string;
  readonly subset: string;
  readonly n: number;
  readonly flagged: number;
  readonly errors: number;
  readonly share: number | null;
  readonly share_lo: number | null;
  readonly share_hi: number | null;
}

export interface ReplayReport {
  readonly manifest: ReplayManifestView;
  /**
   * Distinct tool-output texts flagged: per attack (`level` attack), attack group (group), all injected and clean
   * (all), the injected texts of the attacks our seen split quotes and of the others (seen), and clean texts by
   * suite (suite).
   */
  readonly texts: readonly (ShareRow & { readonly level: "attack" | "group" | "all" | "seen" | "suite" })[];
  /** The same per occurrence (each read counted), for all injected and clean outputs. */
  readonly outputs: readonly ShareRow[];
  /** Real calls stopped: the attacker's, all benign calls, benign calls that act. */
  readonly calls: readonly ShareRow[];
  /** The logged DeBERTa detector, and every configuration on the texts that detector read. */
  readonly reference: readonly ShareRow[];
  /** The logged detector per occurrence; `unresolved`: withheld outputs whose text could not be told. */
  readonly reference_outputs: readonly (ShareRow & { readonly unresolved: number })[];
}

export const isReplayDir = (dir: string): boolean => existsSync(join(dir, "replay.json"));

function readManifest(dir: string): ReplayManifestView {
  const file = join(dir, "replay.json");
  let manifest: ReplayManifestView;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8")) as ReplayManifestView;
  } catch (error) {
    throw new ResultsError(`${file}: not a readable replay manifest (${(error as Error).message})`);
  }
  if (manifest?.kind !== "replay" || !Array.isArray(manifest.configurations) || !Array.isArray(manifest.seen_overlap) || manifest.configurations.some((c) => typeof c?.name !== "string")) {
    throw new ResultsError(`${file}: not a replay manifest (kind "replay" with its configurations)`);
  }
  for (const f of ["verdicts.parquet", "trajectories/runs.parquet", "trajectories/tool_outputs.parquet", "trajectories/model_calls.parquet"]) {
    if (!existsSync(join(dir, f))) throw new ResultsError(`${dir}: ${f} is missing`);
  }
  return manifest;
}

/**
 * The real-text view of one replay folder, computed in DuckDB: what each configuration flagged of real injected and
 * clean tool outputs (distinct texts), of real attacker and benign calls, and the logged DeBERTa detector beside
 * them. No model was in the loop: these are flag rates, never block rates.
 */
export async function computeReplay(dir: string): Promise<ReplayReport> {
  const manifest = readManifest(dir);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    for (const table of ["runs", "tool_outputs", "model_calls"]) {
      await connection.run(`CREATE VIEW ${table} AS SELECT * FROM read_parquet(${sqlLiteralPath(join(dir, "trajectories", `${table}.parquet`))})`);
    }
    await connection.run(`CREATE VIEW verdicts AS SELECT * FROM read_parquet(${sqlLiteralPath(join(dir, "verdicts.parquet"))})`);
    await connection.run("CREATE TABLE configurations (name VARCHAR, ord INTEGER)");
    if (manifest.configurations.length > 0) {
      await connection.run(`INSERT INTO configurations VALUES ${manifest.configurations.map((c, i) => `(${sqlString(c.name)}, ${i})`).join(", ")}`);
    }
    // An attack our seen split quotes (most of its planted texts share a run of 8 words with it) is not unseen.
    const quoted = manifest.seen_overlap.filter((o) => o.texts > 0 && o.sharing / o.texts >= 0.5).map((o) => `(${sqlString(o.attack)})`);
    await connection.run("CREATE TABLE quoted_attacks (attack VARCHAR)");
    if (quoted.length > 0) await connection.run(`INSERT INTO quoted_attacks VALUES ${quoted.join(", ")}`);
    await connection.run(STATS);
    await connection.run(REPLAY_SQL);
    return {
      manifest,
      texts: (await queryRows(connection, "SELECT * FROM replay_texts")) as unknown as ReplayReport["texts"],
      outputs: (await queryRows(connection, "SELECT * FROM replay_outputs")) as unknown as ShareRow[],
      calls: (await queryRows(connection, "SELECT * FROM replay_calls")) as unknown as ShareRow[],
      reference: (await queryRows(connection, "SELECT * FROM replay_reference")) as unknown as ShareRow[],
      reference_outputs: (await queryRows(connection, "SELECT * FROM replay_reference_outputs")) as unknown as ReplayReport["reference_outputs"],
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
