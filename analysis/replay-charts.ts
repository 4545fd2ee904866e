import { CHART_CONFIG, type ChartSpec, rate, SCHEMA, wrap } from "./charts.ts";
import type { ReplayReport, ShareRow } from "./replay.ts";
import { QUOTED, UNQUOTED } from "./replay-format.ts";

const REFERENCE = "transformers_pi_detector (logged)";
const KINDS = { domain: ["one layer", "several layers", "learned (our seen split)", "logged detector"], range: ["#34495e", "#95a5a6", "#2980b9", "#c0392b"] };
const SHAPES = ["circle", "square", "diamond", "triangle-up"];

/** What a configuration is, for the legend: a learned layer, several layers, or one. */
function kindOf(report: ReplayReport, name: string): string {
  const c = report.manifest.configurations.find((x) => x.name === name)!;
  if (c.trained_on.length > 0) return KINDS.domain[2]!;
  return c.replayed.length > 1 ? KINDS.domain[1]! : KINDS.domain[0]!;
}

interface Point {
  readonly panel: string;
  readonly configuration: string;
  readonly kind: string;
  readonly x: number;
  readonly x_lo: number;
  readonly x_hi: number;
  readonly y: number;
  readonly y_lo: number;
  readonly y_hi: number;
  /** Where the label sits: at the point, or moved down clear of a label above it. */
  readonly label_y?: number;
}

const point = (panel: string, kind: string, name: string, x: ShareRow | undefined, y: ShareRow | undefined): Point[] =>
  x && y && x.n > 0 && y.n > 0 ? [{ panel, configuration: name, kind, x: x.share!, x_lo: x.share_lo!, x_hi: x.share_hi!, y: y.share!, y_lo: y.share_lo!, y_hi: y.share_hi! }] : [];

/** Configurations that land on the same spot share one point and one label ("l2 = signatures = …"). */
function merge(points: readonly Point[]): Point[] {
  const bySpot = new Map<string, Point>();
  for (const p of points) {
    const spot = `${p.panel}|${p.kind}|${p.x.toFixed(3)}|${p.y.toFixed(3)}`;
    const there = bySpot.get(spot);
    bySpot.set(spot, there ? { ...there, configuration: `${there.configuration} = ${p.configuration}` } : p);
  }
  return placeLabels([...bySpot.values()]);
}

/** Labels of nearby points, one under the other: each label moves down until it clears the labels above it. */
function placeLabels(points: readonly Point[]): Point[] {
  const placed: Point[] = [];
  for (const p of [...points].sort((a, b) => b.y - a.y || a.x - b.x)) {
    let labelY = p.y;
    const near = placed.filter((q) => q.panel === p.panel && Math.abs(q.x - p.x) < 0.12);
    while (near.some((q) => Math.abs((q.label_y ?? q.y) - labelY) < 0.035)) labelY -= 0.035;
    placed.push({ ...p, label_y: labelY });
  }
  return placed;
}

/** A scatter of configurations with Wilson intervals, one panel per `panel` value; x runs only as far as the data. */
function scatter(name: string, title: string, subtitle: string, xTitle: string, yTitle: string, values: readonly Point[], panels: readonly string[]): ChartSpec {
  const xMax = Math.min(1, Math.max(0.3, Math.ceil((Math.max(0, ...values.map((v) => v.x_hi)) + 0.05) * 10) / 10));
  const xScale = { ...rate(xTitle), scale: { domain: [0, xMax] } };
  const x = { field: "x", ...xScale };
  const y = { field: "y", ...rate(yTitle) };
  return {
    name,
    title,
    spec: {
      $schema: SCHEMA,
      title: { text: title, subtitle: wrap(subtitle) },
      config: CHART_CONFIG,
      data: { values: [...values] },
      facet: { column: { field: "panel", type: "nominal", title: null, sort: [...panels] } },
      spec: {
        width: 420,
        height: 380,
        layer: [
          { mark: { type: "rule", opacity: 0.45 }, encoding: { x: { field: "x_lo", ...xScale }, x2: { field: "x_hi" }, y } },
          { mark: { type: "rule", opacity: 0.45 }, encoding: { y: { field: "y_lo", ...rate(yTitle) }, y2: { field: "y_hi" }, x } },
          {
            mark: { type: "point", filled: true, size: 80 },
            encoding: {
              x,
              y,
              color: { field: "kind", type: "nominal", title: null, scale: KINDS },
              shape: { field: "kind", type: "nominal", title: null, scale: { domain: KINDS.domain, range: SHAPES } },
              tooltip: [{ field: "configuration" }, { field: "x", format: ".3f", title: xTitle }, { field: "y", format: ".3f", title: yTitle }],
            },
          },
          // A label moved off its point keeps a thin line to it.
          { transform: [{ filter: "datum.label_y !== datum.y" }], mark: { type: "rule", opacity: 0.3, strokeDash: [2, 2] }, encoding: { x, y, y2: { field: "label_y" } } },
          { mark: { type: "text", align: "left", dx: 7, dy: -7, fontSize: 10, limit: 420 }, encoding: { x, y: { field: "label_y", ...rate(yTitle) }, text: { field: "configuration" } } },
        ],
      },
    },
  };
}

/**
 * Each configuration at (clean texts flagged, injected texts flagged) on real tool outputs, in two panels: the
 * attacks our seen split quotes (a learned layer may have seen them) and those it does not (what generalization
 * is). The logged DeBERTa detector sits in the first, on the texts its pipeline read. Configurations that flag no
 * text are named in the subtitle, not drawn.
 */
export function replayTextChart(report: ReplayReport): ChartSpec {
  const find = (rows: readonly ShareRow[], name: string, subset: string) => rows.find((r) => r.configuration === name && r.subset === subset);
  const names = report.manifest.configurations.map((c) => c.name);
  const drawn = names.filter((n) => (find(report.texts, n, "all injected")?.flagged ?? 0) + (find(report.texts, n, "clean")?.flagged ?? 0) > 0);
  const values = merge([
    ...point(QUOTED, KINDS.domain[3]!, REFERENCE, find(report.reference, REFERENCE, "clean"), find(report.reference, REFERENCE, "important_instructions")),
    ...[QUOTED, UNQUOTED].flatMap((panel) => drawn.flatMap((n) => point(panel, kindOf(report, n), n, find(report.texts, n, "clean"), find(report.texts, n, panel)))),
  ]);
  const silent = names.filter((n) => !drawn.includes(n));
  const t = report.manifest.trajectories;
  return scatter(
    "replay-text",
    "Real tool outputs: injected vs clean texts flagged",
    `${t.runs} ${t.source} runs replayed, no model in the loop · distinct texts · Wilson 95% intervals · the logged detector on the texts its pipeline read (important_instructions)` +
      (silent.length > 0 ? ` · flag no text: ${silent.join(", ")}` : ""),
    "clean texts flagged",
    "injected texts flagged",
    values,
    [QUOTED, UNQUOTED],
  );
}

/** Each configuration at (benign acting calls stopped, attacker calls stopped), on the real models' calls. */
export function replayCallChart(report: ReplayReport): ChartSpec {
  const find = (name: string, subset: string) => report.calls.find((r) => r.configuration === name && r.subset === subset);
  const names = report.manifest.configurations.map((c) => c.name);
  const drawn = names.filter((n) => (find(n, "attacker calls")?.flagged ?? 0) + (find(n, "benign acting calls")?.flagged ?? 0) > 0);
  const silent = names.filter((n) => !drawn.includes(n));
  return scatter(
    "replay-calls",
    "Real calls: attacker vs benign calls stopped",
    `the real models' calls, replayed with the real request · stopped: blocked or sent to the human · Wilson 95% intervals` + (silent.length > 0 ? ` · stop no call: ${silent.join(", ")}` : ""),
    "benign acting calls stopped",
    "attacker calls stopped",
    merge(drawn.flatMap((n) => point("all attacks", kindOf(report, n), n, find(n, "benign acting calls"), find(n, "attacker calls")))),
    ["all attacks"],
  );
}
