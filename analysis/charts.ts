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
/**
 * Words wrapped into lines of at most `width` characters: a long subtitle stays inside the chart (headless, Vega
 * sizes a chart by an estimate of its text's width, which a one-line subtitle turns into empty margin).
 */
export function wrap(text: string, width = 70): string[] {
  const lines: string[] = [];
  for (const word of text.split(" ")) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + word.length + 1 <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

export const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

export interface ChartSpec {
  /** File stem: `charts/<name>.svg`, `.png`, `.vl.json`. */
  readonly name: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

export const rate = (title: string) => ({ type: "quantitative" as const, title, scale: { domain: [0, 1] }, axis: { format: ".0%" } });

/**
 * One label for points that fall on one spot (the baseline and the layers that never act all sit at the origin):
 * the names joined on the first point of each spot, none on the others, so no name is printed over another.
 */
export function sharedLabels<T extends { defense: string; model: string }>(points: readonly T[], at: (p: T) => readonly number[]): (T & { label: string })[] {
  const spots = new Map<string, T[]>();
  for (const p of points) {
    const key = `${p.model}|${at(p).map((v) => v.toFixed(2)).join("|")}`;
    spots.set(key, [...(spots.get(key) ?? []), p]);
  }
  const firsts = new Map([...spots.values()].map((group) => [group[0]!, group.map((g) => g.defense).join(", ")]));
  return points.map((p) => ({ ...p, label: firsts.get(p) ?? "" }));
}

/** A rate axis from 0 to just above the largest value (and its interval), for rates that stay far below 1. */
const fittedRate = (title: string, values: readonly (number | null | undefined)[]) => {
  const top = Math.min(1, Math.ceil(Math.max(0.1, ...values.filter((v): v is number => typeof v === "number")) * 10) / 10);
  return { type: "quantitative" as const, title, scale: { domain: [0, top] }, axis: { format: ".0%" } };
};

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
  const values = sharedLabels(
    rows
      .filter((r) => r.block_rate !== null && r.autoimmunity !== null)
      .map((r) => ({ ...pick(r), on_front: front.has(`${r.defense}|${r.model}`), position: front.has(`${r.defense}|${r.model}`) ? "on the Pareto front" : "dominated" })),
    (p) => [p.autoimmunity!, p.block_rate!],
  );
  const air = fittedRate("autoimmunity", values.map((v) => v.autoimmunity_hi ?? v.autoimmunity));
  return {
    name: "pareto",
    title: "Block rate vs autoimmunity",
    spec: {
      $schema: SCHEMA,
      title: { text: "Block rate vs autoimmunity", subtitle: wrap("one point per configuration · Wilson 95% intervals · line: Pareto front") },
      config: CHART_CONFIG,
      data: { values },
      facet: { column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 380,
        height: 320,
        layer: [
          { mark: { type: "rule", opacity: 0.5 }, encoding: { x: { field: "autoimmunity_lo", ...air }, x2: { field: "autoimmunity_hi" }, y: { field: "block_rate", ...rate("block rate") } } },
          { mark: { type: "rule", opacity: 0.5 }, encoding: { y: { field: "block_rate_lo", ...rate("block rate") }, y2: { field: "block_rate_hi" }, x: { field: "autoimmunity", ...air } } },
          {
            transform: [{ filter: "datum.on_front" }],
            mark: { type: "line", color: "#c0392b", strokeDash: [4, 3] },
            encoding: { x: { field: "autoimmunity", ...air }, y: { field: "block_rate", ...rate("block rate") }, order: { field: "autoimmunity" } },
          },
          {
            mark: { type: "point", filled: true, size: 70 },
            encoding: {
              x: { field: "autoimmunity", ...air },
              y: { field: "block_rate", ...rate("block rate") },
              color: { field: "position", type: "nominal", title: null, scale: { domain: ["on the Pareto front", "dominated"], range: ["#c0392b", "#34495e"] } },
              tooltip: [{ field: "defense" }, { field: "block_rate", format: ".2f" }, { field: "autoimmunity", format: ".2f" }],
            },
          },
          // Every point is named, those at the origin too (the baseline, layers that never act).
          {
            mark: { type: "text", align: "left", dx: 6, dy: -6, fontSize: 11 },
            encoding: { x: { field: "autoimmunity", ...air }, y: { field: "block_rate", ...rate("block rate") }, text: { field: "label" } },
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
      title: { text: "Attack success rate by surface and configuration", subtitle: wrap("share of attack campaigns whose goal held") },
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
      title: { text: "Each layer alone against the whole tower", subtitle: wrap("block rate and autoimmunity · Wilson 95% intervals") },
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
        subtitle: wrap(`the ${shown.size} configurations with the highest held-out block rate · Wilson 95% intervals · ■ a split the configuration learned from`),
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

/**
 * What security costs: benign utility and utility under attack against block rate, each configuration named, with
 * Wilson intervals, the utility axis fitted to the values (utility rarely falls below 0.7, and a 0–1 axis hides it).
 */
export function utilitySecurityChart(rows: readonly ReportRow[]): ChartSpec {
  const values = rows
    .filter((r) => r.block_rate !== null)
    .flatMap((r) => [
      { defense: r.defense, model: r.model, utility: "benign", value: r.benign_utility, lo: r.benign_utility_lo, hi: r.benign_utility_hi, block_rate: r.block_rate },
      { defense: r.defense, model: r.model, utility: "under attack", value: r.utility_under_attack, lo: r.utility_under_attack_lo, hi: r.utility_under_attack_hi, block_rate: r.block_rate },
    ])
    .filter((v) => typeof v.value === "number");
  const labelled = sharedLabels(values, (v) => [v.block_rate!, v.value as number, v.utility === "benign" ? 0 : 1]);
  const lowest = Math.min(1, ...values.map((v) => (typeof v.lo === "number" ? v.lo : (v.value as number))));
  const utilityAxis = { type: "quantitative" as const, title: "utility", scale: { domain: [Math.max(0, Math.floor(lowest * 10) / 10), 1] }, axis: { format: ".0%" } };
  return {
    name: "utility-security",
    title: "Utility vs security",
    spec: {
      $schema: SCHEMA,
      title: { text: "Utility vs security", subtitle: wrap("task success on benign tasks (●) and under attack (▲) against block rate · Wilson 95% intervals") },
      config: CHART_CONFIG,
      data: { values: labelled },
      facet: { column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 380,
        height: 320,
        encoding: {
          x: { field: "block_rate", ...rate("block rate") },
          color: { field: "defense", type: "nominal", title: "configuration" },
        },
        layer: [
          { mark: { type: "rule", opacity: 0.5 }, encoding: { y: { field: "lo", ...utilityAxis }, y2: { field: "hi" } } },
          {
            mark: { type: "point", filled: true, size: 70, opacity: 0.9 },
            encoding: {
              y: { field: "value", ...utilityAxis },
              shape: { field: "utility", type: "nominal", title: "utility", scale: { domain: ["benign", "under attack"], range: ["circle", "triangle-up"] } },
              tooltip: [{ field: "defense" }, { field: "utility" }, { field: "value", format: ".2f" }, { field: "block_rate", format: ".2f" }],
            },
          },
          {
            transform: [{ filter: "datum.utility === 'benign'" }],
            mark: { type: "text", align: "left", dx: 6, dy: -6, fontSize: 11 },
            encoding: { y: { field: "value", ...utilityAxis }, text: { field: "label" } },
          },
        ],
      },
    },
  };
}

/** Blocks of the whole tower by the layer that acted first. */
export function attributionChart(rows: readonly AttributionRow[]): ChartSpec {
  const shown = rows.filter((r) => r.defense === "tower" || LAYER_CONFIG.test(r.defense));
  // Shares of each configuration's blocks (or false alarms), not counts: configurations and models differ in how many there are.
  const total = (r: AttributionRow, key: "blocks" | "false_alarms") => shown.filter((o) => o.defense === r.defense && o.model === r.model).reduce((n, o) => n + o[key], 0);
  const values = shown.flatMap((r) => [
    { defense: r.defense, model: r.model, layer: r.layer, kind: "blocks", share: total(r, "blocks") > 0 ? r.blocks / total(r, "blocks") : 0, count: r.blocks },
    { defense: r.defense, model: r.model, layer: r.layer, kind: "false alarms", share: total(r, "false_alarms") > 0 ? r.false_alarms / total(r, "false_alarms") : 0, count: r.false_alarms },
  ]);
  return {
    name: "attribution",
    title: "Attribution to layers",
    spec: {
      $schema: SCHEMA,
      title: { text: "Who acted first: blocks and false alarms by layer", subtitle: wrap("share of each configuration's blocks (false alarms) by the first layer that acted in its campaign") },
      config: CHART_CONFIG,
      data: { values },
      facet: { row: { field: "kind", type: "nominal", title: null }, column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 320,
        height: 180,
        mark: "bar",
        encoding: {
          x: { field: "defense", type: "nominal", title: "configuration", sort: ["l0", "l1", "l2", "l3", "l4", "l5", "tower"] },
          y: { field: "share", ...rate("share") },
          color: { field: "layer", type: "nominal", title: "first layer", sort: ["L0", "L1", "L2", "L3", "L4", "L5", "(none)"] },
          tooltip: [{ field: "defense" }, { field: "layer" }, { field: "count", title: "episodes" }, { field: "share", format: ".0%" }],
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
      title: { text: "Infection spread over message hops", subtitle: wrap("share of multi-agent attack episodes whose infection reached at least h hand-offs · Wilson 95%") },
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
          { mark: { type: "line", point: true }, encoding: { y: { field: "share", ...rate("share of episodes") } } },
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
    { defense: r.defense, model: r.model, family: r.family, position: r.campaign_pos + 1, metric: "ASR", value: r.asr },
    { defense: r.defense, model: r.model, family: r.family, position: r.campaign_pos + 1, metric: "poisoned entry in memory", value: r.poisoned_memory_rate },
  ]);
  return {
    name: "campaigns",
    title: "Memory campaigns by position",
    spec: {
      $schema: SCHEMA,
      title: { text: "Memory campaigns: ASR and poisoned memory by episode", subtitle: wrap("poison, retrieve, then a benign task and the retrieving task again, twice · one memory store") },
      config: CHART_CONFIG,
      data: { values },
      facet: { row: { field: "metric", type: "nominal", title: null }, column: { field: "model", type: "nominal", title: null } },
      spec: {
        width: 300,
        height: 180,
        encoding: {
          x: { field: "position", type: "ordinal", title: "episode of the campaign", axis: { labelAngle: 0 } },
          y: { field: "value", ...rate("share of campaigns") },
          color: { field: "defense", type: "nominal", title: "configuration" },
        },
        // Points in a layer of their own: a line's own points would blank the dash legend (vega-lite#7033).
        layer: [
          { mark: "line", encoding: { strokeDash: { field: "family", type: "nominal", title: "poisoned through", legend: { symbolType: "stroke", symbolStrokeColor: "#333", symbolStrokeWidth: 2, symbolSize: 300 } } } },
          { mark: { type: "point", filled: true, size: 30 } },
        ],
      },
    },
  };
}
