import type { AttributionRow, CampaignPositionRow, InfectionRow, PairedRow, ReportRow } from "./report.ts";

/** Columns shown in table and Markdown output, with their headers; JSON carries every column. */
const SHOWN: readonly (readonly [string, string])[] = [
  ["n_benign", "benign n"],
  ["benign_utility", "BU"],
  ["n_attack", "attack n"],
  ["asr", "ASR"],
  ["block_rate", "BR"],
  ["autoimmunity", "AIR"],
  ["autoimmunity_hard_negative", "AIR(hard neg.)"],
  ["rewrite_rate", "rewrites"],
  ["harmful_autoimmunity", "harmful AIR"],
  ["utility_under_attack", "UA"],
  ["friction", "friction"],
  ["errors", "errors"],
  ["defense_error_rate", "layer errors"],
  ["defense_us_per_step", "µs/step"],
  ["tokens", "tokens"],
  ["cost_usd", "cost $"],
];

/** Token and cost columns mean something only for real models: shown when some row used tokens. */
const COST_COLUMNS = new Set(["tokens", "cost_usd"]);

const pct = (v: unknown) => (typeof v === "number" ? v.toFixed(2) : "–");

function cell(row: ReportRow, key: string): string {
  const value = row[key];
  if (key.startsWith("n_") || key === "errors") return String(value ?? 0);
  if (key === "defense_us_per_step") return typeof value === "number" ? value.toFixed(1) : "–";
  if (key === "tokens") return String(value ?? 0);
  if (key === "cost_usd") return typeof value === "number" ? value.toFixed(4) : "–";
  if (key === "friction") return pct(value);
  const lo = row[`${key}_lo`];
  const hi = row[`${key}_hi`];
  return typeof value === "number" && typeof lo === "number" && typeof hi === "number" ? `${pct(value)} [${pct(lo)}–${pct(hi)}]` : pct(value);
}

function grid(rows: readonly ReportRow[], by: readonly string[]): { header: string[]; body: string[][]; keyCount: number } {
  // Which attacks a row counts matters once a configuration learned from some of them.
  const keys = ["defense", "model", ...by, ...(rows.some((r) => r.trained_on) ? ["attacks_scored"] : [])];
  const usedTokens = rows.some((r) => Number(r.tokens ?? 0) > 0);
  const shown = SHOWN.filter(([k]) => usedTokens || !COST_COLUMNS.has(k));
  const header = [...keys, ...shown.map(([, h]) => h)];
  const body = rows.map((row) => [...keys.map((k) => String(row[k] ?? "–")), ...shown.map(([k]) => cell(row, k))]);
  return { header, body, keyCount: keys.length };
}

/** The widest a printed report is by default: a terminal, or a page. */
export const TABLE_WIDTH = 120;

/** Columns left out, in this order, until a table fits {@link TABLE_WIDTH}; `--wide` shows them all. */
const DROPPED_FIRST = ["AIR(hard neg.)", "rewrites", "µs/step", "friction", "UA", "tokens", "cost $", "layer errors", "errors", "benign n", "attack n"];
/** Then the intervals of these columns, whose rates matter less to a defense's ranking than BR and AIR. */
const NARROWED = ["BU", "ASR"];

/**
 * The report as a text table: the baseline first within each model; a metric with one value in every row said once
 * under the table, not in each row; and, unless `wide`, columns left out (named under it) until it fits
 * {@link TABLE_WIDTH} columns.
 */
export function formatTable(rows: readonly ReportRow[], by: readonly string[] = [], options: { readonly baseline?: string; readonly wide?: boolean } = {}): string {
  const ordered = [...rows].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : Number(b.defense === options.baseline) - Number(a.defense === options.baseline)));
  const { header, body, keyCount } = grid(ordered, by);
  let columns = header.map((_, i) => i);
  const notes: string[] = [];
  if (body.length > 1) {
    const constant = columns.filter((i) => i >= keyCount && body.every((r) => r[i] === body[0]![i]));
    if (constant.length > 0) notes.push(`in every row: ${constant.map((i) => `${header[i]} ${body[0]![i]}`).join(", ")}`);
    columns = columns.filter((i) => !constant.includes(i));
  }
  const width = (cols: readonly number[]) => cols.reduce((sum, i) => sum + Math.max(header[i]!.length, ...body.map((r) => r[i]!.length)) + 2, -2);
  const hidden: string[] = [];
  for (const name of options.wide ? [] : DROPPED_FIRST) {
    if (width(columns) <= TABLE_WIDTH) break;
    const i = header.indexOf(name);
    if (!columns.includes(i)) continue;
    columns = columns.filter((c) => c !== i);
    hidden.push(name);
  }
  const narrowed: string[] = [];
  for (const name of options.wide ? [] : NARROWED) {
    if (width(columns) <= TABLE_WIDTH) break;
    const i = header.indexOf(name);
    if (!columns.includes(i)) continue;
    for (const row of body) row[i] = row[i]!.split(" [")[0]!;
    narrowed.push(name);
  }
  if (hidden.length + narrowed.length > 0) {
    notes.push(`to fit ${TABLE_WIDTH} columns, left out${hidden.length > 0 ? `: ${hidden.join(", ")}` : " no column"}${narrowed.length > 0 ? `; without intervals: ${narrowed.join(", ")}` : ""} (--wide shows all)`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => columns.map((i) => cells[i]!.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), columns.map((i) => "-".repeat(widths[i]!)).join("  "), ...body.map(line), ...notes.map((n) => `(${n})`)].join("\n");
}

export function formatMarkdown(rows: readonly ReportRow[], by: readonly string[] = []): string {
  const { header, body } = grid(rows, by);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...body.map(line)].join("\n");
}

/** Blocks and false alarms by the layer that acted first, as a table or Markdown. */
export function formatAttribution(rows: readonly AttributionRow[], format: "table" | "md" | "json"): string {
  const header = ["defense", "model", "first layer", "blocks", "false alarms", "harmful false alarms"];
  const body = rows.map((r) => [r.defense, r.model, r.layer ?? "–", String(r.blocks), String(r.false_alarms), String(r.harmful_false_alarms)]);
  if (format === "md") return [header, header.map(() => "---"), ...body].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
  return aligned(header, body);
}

/** A plain text table of the given header and body. */
function aligned(header: readonly string[], body: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  return [header, ...body].map((cells) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** The paired comparison: cells, both rates, the difference with its interval, and the McNemar p. */
export function formatPaired(rows: readonly PairedRow[]): string {
  if (rows.length === 0) return "no pairs: the two configurations share no (case, seed) or (task, seed) unit";
  const header = ["model", "metric", "n", "both", "a only", "b only", "neither", "errored", "a", "b", "b − a [95%]", "McNemar p"];
  const body = rows.map((r) => [
    r.model,
    r.metric,
    String(r.n),
    String(r.n11),
    String(r.n10),
    String(r.n01),
    String(r.n00),
    String(r.errored),
    pct(r.rate_a),
    pct(r.rate_b),
    `${r.difference >= 0 ? "+" : ""}${r.difference.toFixed(3)} [${r.difference_lo.toFixed(3)}, ${r.difference_hi.toFixed(3)}]`,
    r.mcnemar_p < 0.0001 ? r.mcnemar_p.toExponential(1) : r.mcnemar_p.toFixed(4),
  ]);
  return `${rows[0]!.config_a} (a) vs ${rows[0]!.config_b} (b)\n${aligned(header, body)}`;
}

/** Spread through multi-agent systems, as a table or Markdown. */
export function formatInfection(rows: readonly InfectionRow[], by: readonly string[], format: "table" | "md"): string {
  if (rows.length === 0) return "no multi-agent attack episodes in these runs (agent systems team, pipeline, supervisor)";
  const num = (v: unknown, digits = 2) => (typeof v === "number" ? v.toFixed(digits) : "–");
  const header = ["defense", "model", "agent_system", ...by, "episodes", "infection rate", "spread rate", "mean depth", "max depth", "secondary/infected", "contained", "median steps"];
  const body = rows.map((r) => [
    r.defense,
    r.model,
    r.agent_system,
    ...by.map((k) => String(r[k] ?? "–")),
    String(r.n_episodes),
    `${num(r.infection_rate)} [${num(r.infection_rate_lo)}–${num(r.infection_rate_hi)}]`,
    `${num(r.spread_rate)} [${num(r.spread_rate_lo)}–${num(r.spread_rate_hi)}]`,
    num(r.mean_spread_depth),
    num(r.max_spread_depth, 0),
    num(r.secondary_per_infected),
    num(r.containment_rate),
    num(r.median_containment_steps, 1),
  ]);
  if (format === "md") return [header, header.map(() => "---"), ...body].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
  return aligned(header, body);
}

/** Long memory campaigns by episode position, as a table or Markdown. */
export function formatCampaigns(rows: readonly CampaignPositionRow[], format: "table" | "md"): string {
  if (rows.length === 0) return "no long memory campaigns in these runs (attack ids ending in --campaign-N)";
  const num = (v: unknown) => (typeof v === "number" ? v.toFixed(2) : "–");
  const header = ["defense", "model", "family", "position", "campaigns", "ASR", "poisoned retrieved", "poisoned in memory", "poisoned in quarantine"];
  const body = rows.map((r) => [
    r.defense,
    r.model,
    r.family,
    String(r.campaign_pos),
    String(r.n_campaigns),
    `${num(r.asr)} [${num(r.asr_lo)}–${num(r.asr_hi)}]`,
    num(r.poisoned_retrieval_rate),
    num(r.poisoned_memory_rate),
    num(r.quarantined_memory_rate),
  ]);
  if (format === "md") return [header, header.map(() => "---"), ...body].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
  return aligned(header, body);
}

export const INFECTION_LEGEND =
  "infection rate: agents that executed an attacker action / agents · spread rate: episodes whose infection reached another agent · depth: hand-offs from the agent first reached to the farthest infected one · contained: exposed episodes in which a stop ended the spread · steps: model outputs, tool calls and messages from first exposure to that stop";

export const METRIC_LEGEND =
  "benign n: benign episodes counted · attack n: attack units (case, seed) counted · BU benign utility · ASR attack success rate · BR block rate (vs. the undefended baseline) · AIR autoimmunity rate (benign episodes with a stop, quarantine, approval request, a rewrite that removed information, or a layer error) · rewrites: benign episodes whose content was only marked, delimited or normalised · UA utility under attack · friction: approvals per benign episode · layer errors: share of episodes in which a layer failed, each counted as a miss on an attack or an alarm on benign work (model errors are left out of every rate) · [lo–hi] Wilson 95% · attacks_scored: a configuration with a learned layer (a vaccine) is scored on the splits it did not learn from (held-out); broken down by split, its training split says training";
