import { cpSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeReplay, type ReplayReport, type ShareRow } from "../../analysis/replay.ts";
import { formatReplay } from "../../analysis/replay-format.ts";
import { replayCallChart, replayTextChart } from "../../analysis/replay-charts.ts";
import { renderSvg } from "../../analysis/render.ts";
import { SeenIndex } from "../../attacks/leakage.ts";
import { loadDefenseConfiguration } from "../../defenses/config.ts";
import { allow, type Defense } from "../../defenses/types.ts";
import { loadCorpus } from "../corpus.ts";
import { importTrajectories } from "./import.ts";
import { parquetRows } from "./test-support.ts";
import { notReplayable, type ReplayManifest, replayTrajectories } from "./replay.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/runs", import.meta.url));
const temp = mkdtempSync(join(tmpdir(), "anis-replay-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const CONFIGURATIONS = ["signature-sensor", "argument-constraints", "tool-allowlist", "spotlighting-delimit", "masked-reexecution", "hardened-prompt", "vaccine-exact"];

describe("replaying real trajectories through the hooks", () => {
  let manifest: ReplayManifest;
  let report: ReplayReport;
  const dir = join(temp, "replay");
  beforeAll(async () => {
    await importTrajectories({ from: FIXTURES, out: join(dir, "trajectories") });
    const seen = new SeenIndex(loadCorpus().filter((c) => c.split === "seen"), []);
    manifest = await replayTrajectories({
      trajectories: join(dir, "trajectories"),
      configurations: CONFIGURATIONS.map((n) => loadDefenseConfiguration(n)),
      out: dir,
      seenOverlap: (texts) => seen.measureTexts(texts),
    });
    report = await computeReplay(dir);
  });
  const share = (rows: readonly ShareRow[], configuration: string, subset: string) => {
    const row = rows.find((r) => r.configuration === configuration && r.subset === subset);
    return row && [row.flagged, row.n, row.errors];
  };

  it("leaves out, by name and reason, layers that need a model in the loop or hooks no tool use calls", () => {
    const of = (name: string) => manifest.configurations.find((c) => c.name === name)!;
    expect(of("masked-reexecution").not_replayed).toEqual([{ layer: "masked-reexecution", reason: "re-runs the model on the current step: it needs a model in the loop" }]);
    expect(of("hardened-prompt").not_replayed).toEqual([{ layer: "hardened-prompt", reason: "acts only through the system prompt: it needs a model in the loop" }]);
    expect(of("signature-sensor")).toMatchObject({ replayed: ["signature-sensor"], not_replayed: [], errors: 0, trained_on: ["seen"] });
    expect(manifest.counts).toMatchObject({ runs: 7, tool_outputs: 13, model_calls: 13 });
  });

  it("scores text layers on distinct texts: injected by attack, clean apart, withheld outputs in neither", () => {
    expect(share(report.texts, "signature-sensor", "all injected")).toEqual([2, 3, 0]);
    expect(share(report.texts, "signature-sensor", "important_instructions")).toEqual([2, 2, 0]);
    expect(share(report.texts, "signature-sensor", "direct")).toEqual([0, 1, 0]);
    expect(share(report.texts, "signature-sensor", "clean")).toEqual([0, 5, 0]);
    expect(share(report.texts, "vaccine-exact", "important_instructions")).toEqual([2, 2, 0]);
    // Marking keeps every word: a rewrite, never a flag.
    expect(share(report.texts, "spotlighting-delimit", "all injected")).toEqual([0, 3, 0]);
    expect(share(report.outputs, "signature-sensor", "all injected")).toEqual([3, 4, 0]);
  });

  it("scores action layers on the real calls: the attacker's, and the benign ones of runs whose task was done", () => {
    // argument-constraints holds the deployment's payees: the attacker's IBAN and mail are refused, and so is the bill's new IBAN.
    expect(share(report.calls, "argument-constraints", "attacker calls")).toEqual([2, 3, 0]);
    expect(share(report.calls, "argument-constraints", "benign calls")).toEqual([1, 2, 0]);
    expect(share(report.calls, "argument-constraints", "benign acting calls")).toEqual([1, 1, 0]);
    // The allowlist scopes AgentDojo's tools by the request: paying a bill allows a payment, a lunch question no mail.
    expect(share(report.calls, "tool-allowlist", "attacker calls")).toEqual([1, 3, 0]);
    expect(share(report.calls, "tool-allowlist", "benign calls")).toEqual([0, 2, 0]);
    expect(share(report.calls, "masked-reexecution", "attacker calls")).toEqual([0, 3, 0]);
  });

  it("puts the logged DeBERTa detector beside them, text for text, its withheld outputs told by their twins", () => {
    expect(share(report.reference, "transformers_pi_detector (logged)", "important_instructions")).toEqual([1, 1, 0]);
    expect(share(report.reference, "transformers_pi_detector (logged)", "clean")).toEqual([1, 1, 0]);
    expect(share(report.reference, "signature-sensor", "clean")).toEqual([0, 1, 0]);
    expect(report.reference_outputs.map((r) => [r.subset, r.flagged, r.n, r.unresolved])).toEqual([
      ["all injected", 1, 1, 0],
      ["clean", 1, 1, 0],
    ]);
  });

  it("measures how much of each attack our seen split already quotes", () => {
    expect(manifest.seen_overlap).toEqual([
      { attack: "direct", texts: 1, sharing: 0, longest_median: 0 },
      { attack: "important_instructions", texts: 2, sharing: 2, longest_median: expect.any(Number) },
    ]);
  });

  it("writes a verdict row only where a layer intervened, with its layer and code", async () => {
    const rows = await parquetRows(join(dir, "verdicts.parquet"), "configuration = 'argument-constraints'");
    expect(rows.map((r) => [r.kind, r.flagged, r.verdict, r.code])).toEqual([
      ...Array(4).fill(["model_call", true, "ask_approval", "constraints.unknown_payee"]),
      ["model_call", true, "block", "constraints.recipient"],
    ]);
  });

  it("prints the view as tables and draws both charts", async () => {
    const text = formatReplay(report, "table");
    expect(text).toMatch(/Real text: 7 agentdojo runs replayed/);
    expect(text).toMatch(/signature-sensor \(seen\)\s+0\.67 \[/);
    expect(formatReplay(report, "md")).toContain("| transformers_pi_detector (logged) | 1.00 [");
    for (const chart of [replayTextChart(report), replayCallChart(report)]) expect(await renderSvg(chart.spec)).toMatch(/^<svg/);
    expect(JSON.stringify(replayTextChart(report).spec)).toContain("flag no text: argument-constraints");
  });
});

describe("a replay from strangers", () => {
  it("counts a layer that throws as errors at their cost: a miss on injected text, a flag on clean text — never a free pass", async () => {
    const dir = join(temp, "throws");
    cpSync(join(temp, "replay", "trajectories"), join(dir, "trajectories"), { recursive: true });
    const broken: Defense = { id: "broken", layer: "L2", version: "1", description: "throws on text", params: {}, hooks: { onContext: () => Promise.reject(new Error("no")), onToolCall: () => allow } };
    const configuration = { ...loadDefenseConfiguration("none"), name: "broken", layers: [broken], spec: [{ use: "broken", layer: "L2", version: "1", params: {} }] };
    expect(await notReplayable(broken)).toBeNull();
    const manifest = await replayTrajectories({ trajectories: join(dir, "trajectories"), configurations: [configuration], out: dir });
    expect(manifest.configurations[0]!.errors).toBe(13);
    const report = await computeReplay(dir);
    expect(report.texts.find((r) => r.subset === "all injected")).toMatchObject({ flagged: 0, n: 3, errors: 3 });
    expect(report.texts.find((r) => r.subset === "clean")).toMatchObject({ flagged: 5, n: 5, errors: 5 });
  });

  it("names a damaged table or manifest in one line", async () => {
    const dir = join(temp, "damaged");
    cpSync(join(temp, "replay", "trajectories"), dir, { recursive: true });
    truncateSync(join(dir, "tool_outputs.parquet"), 100);
    await expect(replayTrajectories({ trajectories: dir, configurations: [loadDefenseConfiguration("ifc")], out: join(temp, "damaged-out") })).rejects.toThrow(
      /damaged.*a trajectory table is damaged \(.*\); import the source again/,
    );
    writeFileSync(join(dir, "trajectories.json"), "{");
    await expect(replayTrajectories({ trajectories: dir, configurations: [], out: join(temp, "damaged-out2") })).rejects.toThrow(/trajectories\.json: not valid JSON/);
  });

  it("refuses a folder that is not a trajectory folder", async () => {
    await expect(replayTrajectories({ trajectories: temp, configurations: [], out: join(temp, "x") })).rejects.toThrow(/not a trajectory folder/);
  });
});
