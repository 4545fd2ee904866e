import { readFileSync } from "node:fs";
import { queryRows, type ResultsDatabase, ResultsError } from "./results.ts";

const REPORT_SQL = readFileSync(new URL("./sql/report.sql", import.meta.url), "utf8");
const ATTRIBUTION_SQL = readFileSync(new URL("./sql/attribution.sql", import.meta.url), "utf8");

/** Blocks and false alarms of one (defense, model), attributed to the layer that acted first. */
export interface AttributionRow {
  defense: string;
  model: string;
  layer: string;
  blocks: number;
  false_alarms: number;
  /** False alarms on tasks that succeed undefended and failed here. */
  harmful_false_alarms: number;
}

export async function computeAttribution(db: ResultsDatabase): Promise<AttributionRow[]> {
  return (await queryRows(db.connection, ATTRIBUTION_SQL)) as unknown as AttributionRow[];
}

/** Columns a report can break down by; the attack columns exist only for attack episodes. */
export const BENIGN_BREAKDOWNS = ["suite", "agent_system", "user_task"] as const;
export const ATTACK_BREAKDOWNS = ["surface", "family", "goal", "split", "attack_id"] as const;
export const BREAKDOWNS: readonly string[] = [...BENIGN_BREAKDOWNS, ...ATTACK_BREAKDOWNS];

/** One report row: the metrics of DESIGN.md §6 for one (defense, model[, breakdown...]). Rates are 0..1 or null. */
export type ReportRow = Record<string, unknown> & {
  defense: string;
  model: string;
  n_benign: number;
  benign_utility: number | null;
  n_attack: number;
  asr: number | null;
  block_rate: number | null;
  autoimmunity: number | null;
  /** Benign episodes whose content was rewritten without losing information (null for runs before schema 3). */
  rewrite_rate: number | null;
  harmful_autoimmunity: number | null;
  utility_under_attack: number | null;
  friction: number | null;
  errors: number;
  /** Episodes in which a layer failed: each a miss on an attack or an alarm on benign work, never left out. */
  defense_errors: number;
  /** Defense errors over the episodes the rates count; above the leaderboard's bound a configuration is not ranked. */
  defense_error_rate: number | null;
  /** The splits the configuration's learned layers were trained on, comma-separated; null when it learned nothing. */
  trained_on: string | null;
  /** The row's attack units are of a split the configuration learned from (a training score). */
  training: boolean;
  /**
   * Which attack units the row's attack metrics count: `all`; `held-out` (a learned configuration without its
   * training split); and, broken down by split, `training` or `test`.
   */
  attacks_scored: "all" | "held-out" | "training" | "test";
  /** When runs that differ were pooled (`--allow-mixed`): what this row's runs are on the fields that differ. */
  mixed?: string;
};

/**
 * Computes the report in DuckDB. `by` adds breakdown columns after `defense, model`. A configuration with a learned
 * layer is scored on the splits it did not learn from: its training split's attack units are left out of its
 * attack metrics, unless `includeTraining` — or the report is broken down by split, where each split is its own
 * row and the training one says so (`training`).
 */
export async function computeReport(db: ResultsDatabase, by: readonly string[] = [], options: { readonly includeTraining?: boolean } = {}): Promise<ReportRow[]> {
  for (const column of by) {
    if (!BREAKDOWNS.includes(column)) throw new ResultsError(`unknown breakdown "${column}". Valid breakdowns: ${BREAKDOWNS.join(", ")}`);
  }
  const keys = ["defense", "model", ...by];
  const benignKeys = keys.filter((k) => !(ATTACK_BREAKDOWNS as readonly string[]).includes(k));
  const rowSource = keys.length === benignKeys.length ? "episodes" : "attack_pairs";
  const sql = REPORT_SQL.replaceAll("{{benign_keys}}", benignKeys.join(", "))
    .replaceAll("{{keys}}", keys.join(", "))
    .replaceAll("{{row_source}}", rowSource)
    .replaceAll("{{attack_filter}}", options.includeTraining || by.includes("split") ? "true" : "NOT training");
  const rows = (await queryRows(db.connection, sql)) as ReportRow[];
  const scored = (r: ReportRow): ReportRow["attacks_scored"] =>
    by.includes("split") ? (r.trained_on === null ? "all" : r.training ? "training" : "test") : r.trained_on !== null && !options.includeTraining ? "held-out" : "all";
  const mixed = await mixedRows(db);
  return rows.map((r) => ({ ...r, attacks_scored: scored(r), ...(mixed.has(`${r.defense}\u0000${r.model}`) && { mixed: mixed.get(`${r.defense}\u0000${r.model}`) }) }));
}

/**
 * When the pooled runs differ, every (defense, model) with what its own runs are on the differing fields — `sample
 * 24`, or `sample 24 + sample 48` for a row that itself pools both — since rows are compared with one another.
 */
async function mixedRows(db: ResultsDatabase): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  if (db.mixed === null) return labels;
  for (const row of await queryRows(db.connection, "SELECT defense, model, list(DISTINCT run_id ORDER BY run_id) AS runs FROM episodes GROUP BY ALL")) {
    const variants = [...new Set((row.runs as string[]).map((id) => db.mixed!.get(id) ?? "unknown"))];
    labels.set(`${row.defense}\u0000${row.model}`, variants.join(" + "));
  }
  return labels;
}

const PAIRED_SQL = readFileSync(new URL("./sql/paired.sql", import.meta.url), "utf8");

/**
 * Configuration B against A on the same units, per model: attack campaigns (metric `asr`) and benign episodes
 * (`benign_utility`). Cells n11 (both), n10 (A only), n01 (B only), n00 (neither); `difference` is rate B − rate A
 * with Newcombe's paired interval; `mcnemar_p` is the exact two-sided McNemar test on the discordant pairs.
 */
export interface PairedRow {
  config_a: string;
  config_b: string;
  model: string;
  metric: "asr" | "benign_utility";
  n: number;
  n11: number;
  n10: number;
  n01: number;
  n00: number;
  errored: number;
  rate_a: number;
  rate_b: number;
  difference: number;
  difference_lo: number;
  difference_hi: number;
  mcnemar_p: number;
}

export async function computePaired(db: ResultsDatabase, configA: string, configB: string): Promise<PairedRow[]> {
  const known = (await queryRows(db.connection, "SELECT DISTINCT defense FROM episodes ORDER BY 1")).map((r) => String(r.defense));
  for (const name of [configA, configB]) {
    if (!known.includes(name)) throw new ResultsError(`configuration "${name}" is not in these runs. Configurations in them: ${known.join(", ")}`);
  }
  const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
  await db.connection.run(`SET VARIABLE config_a = ${quote(configA)}`);
  await db.connection.run(`SET VARIABLE config_b = ${quote(configB)}`);
  return (await queryRows(db.connection, PAIRED_SQL)) as unknown as PairedRow[];
}

const INFECTION_SQL = readFileSync(new URL("./sql/infection.sql", import.meta.url), "utf8");
const INFECTION_HOPS_SQL = readFileSync(new URL("./sql/infection-hops.sql", import.meta.url), "utf8");

/** Spread metrics of one (defense, model, agent system[, breakdown]) over multi-agent attack episodes. */
export type InfectionRow = Record<string, unknown> & {
  defense: string;
  model: string;
  agent_system: string;
  n_episodes: number;
  infection_rate: number | null;
  spread_rate: number | null;
  mean_spread_depth: number | null;
  secondary_per_infected: number | null;
  containment_rate: number | null;
  median_containment_steps: number | null;
};

/** Infection rate, spread, secondary infections and containment, per defense, model and agent system (and `by`). */
export async function computeInfection(db: ResultsDatabase, by: readonly string[] = []): Promise<InfectionRow[]> {
  for (const column of by) {
    if (!BREAKDOWNS.includes(column) || column === "agent_system") throw new ResultsError(`unknown breakdown "${column}". Valid breakdowns: ${BREAKDOWNS.filter((b) => b !== "agent_system").join(", ")}`);
  }
  const keys = ["defense", "model", "agent_system", ...by].join(", ");
  return (await queryRows(db.connection, INFECTION_SQL.replaceAll("{{keys}}", keys))) as InfectionRow[];
}

/** Share of multi-agent attack episodes whose infection reached at least `hops` hand-offs, for hops 0–3. */
export async function computeInfectionHops(db: ResultsDatabase): Promise<{ defense: string; model: string; agent_system: string; hops: number; share: number; share_lo: number; share_hi: number }[]> {
  return (await queryRows(db.connection, INFECTION_HOPS_SQL)) as never;
}

const CAMPAIGNS_SQL = readFileSync(new URL("./sql/campaigns.sql", import.meta.url), "utf8");

/** One episode position of the long memory campaigns, for one (defense, model). */
export type CampaignPositionRow = Record<string, unknown> & {
  defense: string;
  model: string;
  family: string;
  campaign_pos: number;
  n_campaigns: number;
  asr: number | null;
  poisoned_retrieval_rate: number | null;
  poisoned_memory_rate: number | null;
  quarantined_memory_rate: number | null;
};

/** ASR, retrieval of poisoned entries and memory integrity by position in the long memory campaigns. */
export async function computeCampaigns(db: ResultsDatabase): Promise<CampaignPositionRow[]> {
  return (await queryRows(db.connection, CAMPAIGNS_SQL)) as CampaignPositionRow[];
}
