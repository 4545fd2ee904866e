import { CHART_CONFIG, type ChartSpec, rate, SCHEMA } from "./charts.ts";
import type { ReplayReport, ShareRow } from "./replay.ts";

const REFERENCE = "transformers_pi_detector (logged)";

/** What a configuration is, for the legend: a learned layer, several layers, or one. */
function kindOf(report: ReplayReport, name: string): string {
  const c = report.manifest.configurations.find((x) => x.name === name)!;
  if (c.trained_on.length > 0) return "learned (trained on our seen split)";
  return c.replayed.length > 1 ? "several layers" : "one layer";
}

const point = (kind: string, name: string, x: ShareRow | undefined, y: ShareRow | undefined) =>
  x && y && x.n > 0 && y.n > 0
    ? [{ configuration: name, kind, x: x.share, x_lo: x.share_lo, x_hi: x.share_hi, y: y.share, y_lo: y.share_lo, y_hi: y.share_hi, x_n: x.n, y_n: y.n }]
    : [];

const KIND_COLORS = { domain: ["one layer", "several layers", "learned (trained on our seen split)", "logged detector"], range: ["#34495e", "#7f8c8d", "#2980b9", "#c0392b"] };

/** Words wrapped into lines of at most `width` characters: a long subtitle stays inside the chart. */
function wrap(text: string, width = 110): string[] {
  const lines: string[] = [];
  for (const word of text.split(" ")) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + word.length + 1 <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

function scatter(name: string, title: string, subtitle: string, xTitle: string, yTitle: string, values: readonly Record<string, unknown>[]): ChartSpec {
  const x = { field: "x", ...rate(xTitle) };
  const y = { field: "y", ...rate(yTitle) };
  return {
    name,
    title,
    spec: {
      $schema: SCHEMA,
      title: { text: title, subtitle: wrap(subtitle) },
      config: CHART_CONFIG,
      width: 520,
      height: 420,
      data: { values: [...values] },
      layer: [
        { mark: { type: "rule", opacity: 0.45 }, encoding: { x: { field: "x_lo", ...rate(xTitle) }, x2: { field: "x_hi" }, y } },
        { mark: { type: "rule", opacity: 0.45 }, encoding: { y: { field: "y_lo", ...rate(yTitle) }, y2: { field: "y_hi" }, x } },
        {
          mark: { type: "point", filled: true, size: 80 },
          encoding: {
            x,
            y,
            color: { field: "kind", type: "nominal", title: null, scale: KIND_COLORS },
            shape: { field: "kind", type: "nominal", title: null, scale: { domain: KIND_COLORS.domain, range: ["circle", "square", "diamond", "triangle-up"] } },
            tooltip: [{ field: "configuration" }, { field: "x", format: ".3f", title: xTitle }, { field: "y", format: ".3f", title: yTitle }, { field: "x_n" }, { field: "y_n" }],
          },
        },
        { mark: { type: "text", align: "left", dx: 7, dy: -6, fontSize: 11 }, encoding: { x, y, text: { field: "configuration" } } },
      ],
    },
  };
}

/**
 * Each configuration at (clean texts flagged, injected texts flagged) on real tool outputs, the logged DeBERTa
 * detector beside them (text for text on what its pipeline read). Configurations that flag no text are listed in the
 * subtitle, not drawn: a pile of points at the origin says nothing.
 */
export function replayTextChart(report: ReplayReport): ChartSpec {
  const find = (rows: readonly ShareRow[], name: string, subset: string) => rows.find((r) => r.configuration === name && r.subset === subset);
  const names = report.manifest.configurations.map((c) => c.name);
  const drawn = names.filter((n) => (find(report.texts, n, "all injected")?.flagged ?? 0) + (find(report.texts, n, "clean")?.flagged ?? 0) > 0);
  const values = [
    ...drawn.flatMap((n) => point(kindOf(report, n), n, find(report.texts, n, "clean"), find(report.texts, n, "all injected"))),
    ...point("logged detector", REFERENCE, find(report.reference, REFERENCE, "clean"), find(report.reference, REFERENCE, "important_instructions")),
  ];
  const silent = names.filter((n) => !drawn.includes(n));
  return scatter(
    "replay-text",
    "Real tool outputs: injected vs clean texts flagged",
    `${report.manifest.trajectories.runs} ${report.manifest.trajectories.source} runs replayed, no model in the loop · distinct texts · Wilson 95% intervals · the detector on the texts its pipeline read` +
      (silent.length > 0 ? ` · flag no text: ${silent.join(", ")}` : ""),
    "clean texts flagged (autoimmunity on real content)",
    "injected texts flagged",
    values,
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
    drawn.flatMap((n) => point(kindOf(report, n), n, find(n, "benign acting calls"), find(n, "attacker calls"))),
  );
}
