import type { ReplayReport, ShareRow } from "./replay.ts";

/** The injected texts of the attacks our seen split quotes, and of the others (analysis/sql/replay.sql). */
export const QUOTED = "attacks our seen split quotes";
export const UNQUOTED = "attacks it does not quote";

/** The attack groups in the order the report shows them (analysis/sql/replay.sql, `attack_group`). */
export const ATTACK_GROUPS = ["important_instructions", "important_instructions ablations", "tool_knowledge", "ignore_previous", "injecagent", "direct", "denial of service"] as const;

const two = (v: number | null | undefined) => (typeof v === "number" ? v.toFixed(2) : "–");
const withInterval = (r: ShareRow | undefined) => (r && r.n > 0 ? `${two(r.share)} [${two(r.share_lo)}–${two(r.share_hi)}]` : "–");
const shareOnly = (r: ShareRow | undefined) => (r && r.n > 0 ? two(r.share) : "–");

type ReplayFormat = "table" | "md" | "html";
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function grid(header: readonly string[], body: readonly (readonly string[])[], format: ReplayFormat): string {
  if (format === "html") {
    const row = (cells: readonly string[], tag: string) => `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join("")}</tr>`;
    return `<table><thead>${row(header, "th")}</thead><tbody>\n${body.map((b) => row(b, "td")).join("\n")}\n</tbody></table>`;
  }
  if (format === "md") return [header, header.map(() => "---"), ...body].map((c) => `| ${c.join(" | ")} |`).join("\n");
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [header, ...body].map((c) => c.map((x, i) => x.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export const REPLAY_LEGEND =
  "Replay: real tool outputs and the real models' calls, from the logs, through each configuration's hooks. No model is in the " +
  "loop, so a share is how often a layer would have intervened (a block, a quarantine, an approval request, or a rewrite that " +
  "removed information), never a block rate. Texts: distinct tool-output texts (as the tool returned them), injected when they " +
  "hold an attack's planted text whole, clean when they share no 8 words with it; `clean reads` counts every read of a clean " +
  "output. Calls: attacker calls realise the attacker's goal (its own address, IBAN, URL or quoted id, by a tool that acts, or " +
  "any request to its URL) in runs whose goal was reached; benign calls are those of runs without attack whose task was done. " +
  "[lo–hi]: Wilson 95% intervals. `seen` marks a learned configuration and what it learned from: AgentDojo's texts were not " +
  "in its training, but see the overlap table for how much of each attack our seen split already quotes.";

/** The real-text view as tables: texts, calls, the logged detector text for text, and each attack's overlap with our seen split. */
export function formatReplay(report: ReplayReport, format: ReplayFormat): string {
  const names = report.manifest.configurations.map((c) => c.name);
  const find = (rows: readonly ShareRow[], configuration: string, subset: string) => rows.find((r) => r.configuration === configuration && r.subset === subset);
  const learned = new Map(report.manifest.configurations.map((c) => [c.name, c.trained_on.length > 0 ? ` (${c.trained_on.join(",")})` : ""]));
  const notReplayed = new Map(report.manifest.configurations.map((c) => [c.name, c.not_replayed.map((n) => n.layer).join(", ") || "–"]));
  const allInjected = report.texts.find((r) => r.subset === "all injected");
  const clean = report.texts.find((r) => r.subset === "clean");
  const refInjected = find(report.reference_outputs, "transformers_pi_detector (logged)", "all injected");
  const refClean = find(report.reference_outputs, "transformers_pi_detector (logged)", "clean");

  const quoted = report.texts.find((r) => r.subset === QUOTED);
  const unquoted = report.texts.find((r) => r.subset === UNQUOTED);
  const errorsOf = (name: string) => String(report.manifest.configurations.find((c) => c.name === name)!.errors);
  const textHeader = [
    "configuration",
    `injected (${allInjected?.n ?? 0} texts)`,
    `attacks our seen split quotes (${quoted?.n ?? 0})`,
    `attacks it does not quote (${unquoted?.n ?? 0})`,
    `clean (${clean?.n ?? 0} texts)`,
    "clean reads",
    "errors",
    "not replayed",
  ];
  const textBody = names.map((name) => [
    name + learned.get(name),
    withInterval(find(report.texts, name, "all injected")),
    withInterval(find(report.texts, name, QUOTED)),
    withInterval(find(report.texts, name, UNQUOTED)),
    withInterval(find(report.texts, name, "clean")),
    shareOnly(find(report.outputs, name, "clean")),
    errorsOf(name),
    notReplayed.get(name)!,
  ]);
  // The logged detector's row, where the trajectories hold its pipeline.
  const hasReference = report.reference_outputs.length > 0;
  if (hasReference) textBody.unshift(["transformers_pi_detector (logged, per read)", withInterval(refInjected), "–", "–", "–", shareOnly(refClean), "0", "–"]);
  const groupBody = names.map((name) => [name + learned.get(name), ...ATTACK_GROUPS.map((g) => shareOnly(find(report.texts, name, g)))]);
  const groupN = ATTACK_GROUPS.map((g) => `${g} (${report.texts.find((r) => r.subset === g)?.n ?? 0})`);

  const callHeader = ["configuration", "attacker calls stopped", "benign calls stopped", "benign acting calls stopped"];
  const callBody = names.map((name) => [
    name + learned.get(name),
    withInterval(find(report.calls, name, "attacker calls")),
    withInterval(find(report.calls, name, "benign calls")),
    withInterval(find(report.calls, name, "benign acting calls")),
  ]);
  const n = (subset: string) => report.calls.find((r) => r.subset === subset)?.n ?? 0;

  const suites = [...new Set(report.texts.filter((r) => r.level === "suite").map((r) => r.subset))].sort();
  const suiteBody = names.map((name) => [name + learned.get(name), ...suites.map((suite) => withInterval(report.texts.find((r) => r.level === "suite" && r.configuration === name && r.subset === suite)))]);
  const suiteN = suites.map((suite) => `${suite} (${report.texts.find((r) => r.level === "suite" && r.subset === suite)?.n ?? 0})`);

  const refNames = ["transformers_pi_detector (logged)", ...names];
  const refBody = refNames.map((name) => [name, withInterval(find(report.reference, name, "important_instructions")), withInterval(find(report.reference, name, "clean"))]);
  const refN = (subset: string) => find(report.reference, "transformers_pi_detector (logged)", subset)?.n ?? 0;

  const overlapBody = report.manifest.seen_overlap.map((o) => [o.attack, String(o.texts), `${o.sharing} (${two(o.texts === 0 ? null : o.sharing / o.texts)})`, String(o.longest_median)]);
  const t = report.manifest.trajectories;
  const heading = (text: string) => (format === "md" ? `### ${text}` : format === "html" ? `<h3>${escapeHtml(text)}</h3>` : text);
  return [
    heading(`Real text: ${t.runs} ${t.source} runs replayed (trajectories ${t.digest.slice(0, 12)})`),
    "",
    grid(textHeader, textBody, format),
    "",
    heading("Injected texts flagged, by AgentDojo attack"),
    "",
    grid(["configuration", ...groupN], groupBody, format),
    "",
    heading("Clean texts flagged, by suite"),
    "",
    grid(["configuration", ...suiteN], suiteBody, format),
    "",
    heading(`Real calls: ${n("attacker calls")} attacker calls, ${n("benign calls")} benign calls (${n("benign acting calls")} acting)`),
    "",
    grid(callHeader, callBody, format),
    "",
    ...(hasReference
      ? [
          heading(`On the texts the logged DeBERTa detector read (${refN("important_instructions")} injected, ${refN("clean")} clean; text for text)`),
          "",
          grid(["configuration", "important_instructions flagged", "clean flagged"], refBody, format),
          "",
        ]
      : []),
    heading("How much of each attack's planted texts our seen split already holds (a run of 8 words)"),
    "",
    grid(["attack", "planted texts", "sharing with seen", "longest shared run (median words)"], overlapBody, format),
    "",
    format === "html" ? `<p>${escapeHtml(REPLAY_LEGEND)}</p>` : REPLAY_LEGEND,
  ].join("\n");
}
