import type { TopLevelSpec } from "vega-lite";
import type { AttributionRow, ReportRow } from "./report.ts";

/**
 * The leaderboard's charts as Vega-Lite specs with their data inline: what a paper would print. Each function takes
 * report rows and returns a spec; `render.ts` turns specs into SVG and PNG, the HTML page renders them live.
 */

/** One typeface and readable sizes everywhere: the PNGs are rendered with this font bundled (see render.ts). */
export const CHART_FONT = "DejaVu Sans";
export const CHART_CONFIG = {
  font: CHART_FONT,
  axis: { labelFontSize: 12, titleFontSize: 13, labelLimit: 220 },
  legend: { labelFontSize: 12, titleFontSize: 13, labelLimit: 260 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  title: { fontSize: 16, anchor: "start" as const, subtitleFontSize: 12 },
  view: { stroke: "#ddd" },
};
export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

export interface ChartSpec {
  /** File stem: `charts/<name>.svg`, `.png`, `.vl.json`. */
  readonly name: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

export const rate = (title: string) => ({ type: "quantitative" as const, title, scale: { domain: [0, 1] }, axis: { format: ".0%" } });

/** Configurations on the Pareto front of (high block rate, low autoimmunity), per model. */
export function paretoFront(rows: readonly ReportRow[]): Set<string> {
  const front = new Set<string>();
  const scored = rows.filter((r) => r.block_rate !== null && r.autoimmunity !== null);
  for (const r of scored) {
    const dominated = scored.some(
      (o) =>
        o.model === r.model &&
        o !== r &&
        o.block_rate! >= r.block_rate! &&
        o.autoimmunity! <= r.autoimmunity! &&
        (o.block_rate! > r.block_rate! || o.autoimmunity! < r.autoimmunity!),
    );
    if (!dominated) front.add(`${r.defense}|${r.model}`);
  }
  return front;
}

/** Block rate against autoimmunity, one point per configuration, Wilson intervals as error bars, the front drawn. */
export function paretoChart(rows: readonly ReportRow[]): ChartSpec {
  const front = paretoFront(rows);
  const values = rows
    .filter((r) => r.block_rate !== null && r.autoimmunity !== null)
    .map((r) => ({ ...pick(r), on_front: front.has(`${r.defense}|${r.model}`) }));
  return {
    name: "pareto",
    title: "Block rate vs autoimmunity",
    spec: {
      $schema: SCHEMA,
      title: { text: "Block rate vs autoimmunity", subtitle: "one point per configuration · Wilson 95% intervals · line: Pareto front" },
      config: CHART_CONFIG,
      data: { values },
      facet: { column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 380,
        height: 320,
        layer: [
          { mark: { type: "rule", opacity: 0.5 }, encoding: { x: { field: "autoimmunity_lo", ...rate("autoimmunity") }, x2: { field: "autoimmunity_hi" }, y: { field: "block_rate", ...rate("block rate") } } },
          { mark: { type: "rule", opacity: 0.5 }, encoding: { y: { field: "block_rate_lo", ...rate("block rate") }, y2: { field: "block_rate_hi" }, x: { field: "autoimmunity", ...rate("autoimmunity") } } },
          {
            transform: [{ filter: "datum.on_front" }],
            mark: { type: "line", color: "#c0392b", strokeDash: [4, 3] },
            encoding: { x: { field: "autoimmunity", ...rate("autoimmunity") }, y: { field: "block_rate", ...rate("block rate") }, order: { field: "autoimmunity" } },
          },
          {
            mark: { type: "point", filled: true, size: 70 },
            encoding: {
              x: { field: "autoimmunity", ...rate("autoimmunity") },
              y: { field: "block_rate", ...rate("block rate") },
              color: { field: "on_front", type: "nominal", title: "on the front", scale: { domain: [true, false], range: ["#c0392b", "#34495e"] } },
              tooltip: [{ field: "defense" }, { field: "block_rate", format: ".2f" }, { field: "autoimmunity", format: ".2f" }],
            },
          },
          {
            transform: [{ filter: "datum.on_front" }],
            mark: { type: "text", align: "left", dx: 6, dy: -6, fontSize: 11 },
            encoding: { x: { field: "autoimmunity", ...rate("autoimmunity") }, y: { field: "block_rate", ...rate("block rate") }, text: { field: "defense" } },
          },
        ],
      },
    },
  };
}

/** Attack success rate per attack surface and configuration. */
export function surfaceHeatmap(rows: readonly ReportRow[]): ChartSpec {
  const values = rows.filter((r) => r.asr !== null).map((r) => ({ defense: r.defense, model: r.model, surface: String(r.surface), asr: r.asr }));
  return {
    name: "surface-heatmap",
    title: "Attack success by surface",
    spec: {
      $schema: SCHEMA,
      title: { text: "Attack success rate by surface and configuration", subtitle: "share of attack campaigns whose goal held" },
      config: CHART_CONFIG,
      data: { values },
      facet: { row: { field: "model", type: "nominal", title: null } },
      spec: {
        width: { step: 34 },
        height: { step: 26 },
        encoding: {
          x: { field: "defense", type: "nominal", title: "configuration", axis: { labelAngle: -45 } },
          y: { field: "surface", type: "nominal", title: "surface" },
        },
        layer: [
          { mark: "rect", encoding: { color: { field: "asr", type: "quantitative", title: "ASR", scale: { domain: [0, 1], scheme: "orangered" } } } },
          {
            mark: { type: "text", fontSize: 10 },
            encoding: {
              text: { field: "asr", type: "quantitative", format: ".2f" },
              color: { condition: { test: "datum.asr > 0.5", value: "white" }, value: "black" },
            },
          },
        ],
      },
    },
  };
}

const LAYER_CONFIG = /^l[0-5]$|^tower$/;

/** Each layer of the tower alone (`l0` … `l5`) against the whole tower: block rate and autoimmunity. */
export function layerAblation(rows: readonly ReportRow[]): ChartSpec {
  const values = rows
    .filter((r) => LAYER_CONFIG.test(r.defense) && r.block_rate !== null)
    .flatMap((r) => [
      { defense: r.defense, model: r.model, metric: "block rate", value: r.block_rate, lo: r.block_rate_lo, hi: r.block_rate_hi },
      { defense: r.defense, model: r.model, metric: "autoimmunity", value: r.autoimmunity, lo: r.autoimmunity_lo, hi: r.autoimmunity_hi },
    ]);
  return {
    name: "layer-ablation",
    title: "Per-layer ablation",
    spec: {
      $schema: SCHEMA,
      title: { text: "Each layer alone against the whole tower", subtitle: "block rate and autoimmunity · Wilson 95% intervals" },
      config: CHART_CONFIG,
      data: { values },
      facet: { column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 320,
        height: 260,
        encoding: {
          x: { field: "defense", type: "nominal", title: "configuration", sort: ["l0", "l1", "l2", "l3", "l4", "l5", "tower"] },
          xOffset: { field: "metric" },
        },
        layer: [
          { mark: "bar", encoding: { y: { field: "value", ...rate("rate") }, color: { field: "metric", type: "nominal", title: null, scale: { range: ["#2e86c1", "#e67e22"] } } } },
          { mark: { type: "rule", color: "black" }, encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } } },
        ],
      },
    },
  };
}

/**
 * Block rate on seen, near and far variants: does a defense stop what it was not built from? A learned
 * configuration's training split is drawn as a hollow square marked training, and does not choose what is shown.
 */
export function generalizationChart(rows: readonly ReportRow[], limit = 10): ChartSpec {
  const overall = new Map<string, number>();
  for (const r of rows) if (r.block_rate !== null && !r.training) overall.set(r.defense, Math.max(overall.get(r.defense) ?? 0, r.block_rate));
  const shown = new Set([...overall].filter(([d, br]) => d !== "none" && br > 0).sort((a, b) => b[1] - a[1]).slice(0, limit).map(([d]) => d));
  const values = rows
    .filter((r) => shown.has(r.defense) && r.block_rate !== null)
    .map((r) => ({ ...pick(r), split: String(r.split), role: r.training ? "training (learned from)" : "test" }));
  return {
    name: "generalization",
    title: "Generalization by split",
    spec: {
      $schema: SCHEMA,
      title: {
        text: "Block rate on seen, near and far variants",
        subtitle: `the ${shown.size} configurations with the highest held-out block rate · Wilson 95% intervals · ■ a split the configuration learned from`,
      },
      config: CHART_CONFIG,
      data: { values },
      facet: { column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 300,
        height: 280,
        encoding: {
          x: { field: "split", type: "ordinal", title: "split", sort: ["seen", "near", "far"], axis: { labelAngle: 0 } },
          color: { field: "defense", type: "nominal", title: "configuration" },
        },
        layer: [
          { mark: { type: "line" }, encoding: { y: { field: "block_rate", ...rate("block rate") } } },
          {
            mark: { type: "point", filled: true, size: 60 },
            encoding: {
              y: { field: "block_rate", type: "quantitative" },
              shape: { field: "role", type: "nominal", title: "split", scale: { domain: ["test", "training (learned from)"], range: ["circle", "square"] } },
            },
          },
          { mark: { type: "rule", opacity: 0.6 }, encoding: { y: { field: "block_rate_lo", type: "quantitative" }, y2: { field: "block_rate_hi" } } },
        ],
      },
    },
  };
}

/** What security costs: utility under attack and benign utility against block rate. */
export function utilitySecurityChart(rows: readonly ReportRow[]): ChartSpec {
  const values = rows
    .filter((r) => r.block_rate !== null)
    .flatMap((r) => [
      { defense: r.defense, model: r.model, utility: "benign", value: r.benign_utility, block_rate: r.block_rate },
      { defense: r.defense, model: r.model, utility: "under attack", value: r.utility_under_attack, block_rate: r.block_rate },
    ])
    .filter((v) => v.value !== null);
  return {
    name: "utility-security",
    title: "Utility vs security",
    spec: {
      $schema: SCHEMA,
      title: { text: "Utility vs security", subtitle: "task success on benign tasks and under attack, against block rate" },
      config: CHART_CONFIG,
      data: { values },
      facet: { column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 360,
        height: 300,
        layer: [
          {
            mark: { type: "point", filled: true, size: 60, opacity: 0.8 },
            encoding: {
              x: { field: "block_rate", ...rate("block rate") },
              y: { field: "value", ...rate("utility") },
              shape: { field: "utility", type: "nominal", title: "utility" },
              color: { field: "utility", type: "nominal", title: "utility" },
              tooltip: [{ field: "defense" }, { field: "utility" }, { field: "value", format: ".2f" }, { field: "block_rate", format: ".2f" }],
            },
          },
        ],
      },
    },
  };
}

/** Blocks of the whole tower by the layer that acted first. */
export function attributionChart(rows: readonly AttributionRow[]): ChartSpec {
  const values = rows.filter((r) => r.defense === "tower" || LAYER_CONFIG.test(r.defense)).flatMap((r) => [
    { defense: r.defense, model: r.model, layer: r.layer, kind: "blocks", count: r.blocks },
    { defense: r.defense, model: r.model, layer: r.layer, kind: "false alarms", count: r.false_alarms },
  ]);
  return {
    name: "attribution",
    title: "Attribution to layers",
    spec: {
      $schema: SCHEMA,
      title: { text: "Who acted first: blocks and false alarms by layer", subtitle: "each block goes to the first layer that stopped something in its campaign" },
      config: CHART_CONFIG,
      data: { values },
      facet: { row: { field: "kind", type: "nominal", title: null }, column: { field: "model", type: "nominal", title: null } },
      resolve: { scale: { y: "independent" } },
      spec: {
        width: 320,
        height: 180,
        mark: "bar",
        encoding: {
          x: { field: "defense", type: "nominal", title: "configuration", sort: ["l0", "l1", "l2", "l3", "l4", "l5", "tower"] },
          y: { field: "count", type: "quantitative", title: "episodes" },
          color: { field: "layer", type: "nominal", title: "first layer", sort: ["L0", "L1", "L2", "L3", "L4", "L5", "(none)"] },
        },
      },
    },
  };
}

function pick(r: ReportRow) {
  return {
    defense: r.defense,
    model: r.model,
    block_rate: r.block_rate,
    block_rate_lo: r.block_rate_lo as number | null,
    block_rate_hi: r.block_rate_hi as number | null,
    autoimmunity: r.autoimmunity,
    autoimmunity_lo: r.autoimmunity_lo as number | null,
    autoimmunity_hi: r.autoimmunity_hi as number | null,
  };
}

/** How far infections travel: the share of multi-agent attack episodes whose infection reached at least h hops. */
export function infectionSpreadChart(rows: readonly { defense: string; model: string; agent_system: string; hops: number; share: number; share_lo: number; share_hi: number }[]): ChartSpec {
  return {
    name: "infection-spread",
    title: "Infection spread over hops",
    spec: {
      $schema: SCHEMA,
      title: { text: "Infection spread over message hops", subtitle: "share of multi-agent attack episodes whose infection reached at least h hand-offs · Wilson 95%" },
      config: CHART_CONFIG,
      data: { values: [...rows] },
      facet: { row: { field: "model", type: "nominal", title: null }, column: { field: "agent_system", type: "nominal", title: null } },
      spec: {
        width: 260,
        height: 200,
        encoding: {
          x: { field: "hops", type: "ordinal", title: "hops from the agent first reached", axis: { labelAngle: 0 } },
          color: { field: "defense", type: "nominal", title: "configuration" },
        },
        layer: [
          { mark: { type: "line", point: true }, encoding: { y: { field: "share", ...rate("episodes") } } },
          { mark: { type: "rule", opacity: 0.5 }, encoding: { y: { field: "share_lo", type: "quantitative" }, y2: { field: "share_hi" } } },
        ],
      },
    },
  };
}

/** Long memory campaigns: ASR and poisoned memory by episode position. */
export function campaignChart(
  rows: readonly { defense: string; model: string; family: string; campaign_pos: number; asr: number | null; poisoned_memory_rate: number | null }[],
): ChartSpec {
  const values = rows.flatMap((r) => [
    { defense: r.defense, model: r.model, family: r.family, position: r.campaign_pos, metric: "ASR", value: r.asr },
    { defense: r.defense, model: r.model, family: r.family, position: r.campaign_pos, metric: "poisoned entry in memory", value: r.poisoned_memory_rate },
  ]);
  return {
    name: "campaigns",
    title: "Memory campaigns by position",
    spec: {
      $schema: SCHEMA,
      title: { text: "Memory campaigns: ASR and poisoned memory by episode", subtitle: "poison, retrieve, then a benign task and the retrieving task again, twice · one memory store" },
      config: CHART_CONFIG,
      data: { values },
      facet: { row: { field: "metric", type: "nominal", title: null }, column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 300,
        height: 180,
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "position", type: "ordinal", title: "episode of the campaign", axis: { labelAngle: 0 } },
          y: { field: "value", ...rate("campaigns") },
          color: { field: "defense", type: "nominal", title: "configuration" },
          strokeDash: { field: "family", type: "nominal", title: "poisoned through" },
        },
      },
    },
  };
}
