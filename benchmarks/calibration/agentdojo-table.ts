/**
 * AgentDojo's GPT-4o table, side by side with ours: the same five pipelines (no defense, a tool filter, spotlighting
 * by delimiting, the repeated request, a detector) on AgentDojo's real runs and on our suites under the simulated
 * model fitted to those runs. The suites differ, so levels may; the order of the pipelines and their ratios to "no
 * defense" are what must carry over. Spearman's ρ over the five pipelines, for ASR and for utility.
 *
 *   npm run fidelity:agentdojo -- [--trajectories DIR|runs.tar.gz] [--model sim:gpt-4o-2024-05-13] [--seeds 3] [--out DIR]
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import { sampleRankCorrelation } from "simple-statistics";
import { sqlLiteralPath } from "../../analysis/paths.ts";
import { query, runBenchmark } from "../api.ts";
import { importTrajectories } from "../trajectories/import.ts";
import { TRAJECTORY_FILES } from "../trajectories/tables.ts";
import { TRAJECTORY_MANIFEST } from "../trajectories/writer.ts";
import { VACCINATORS } from "../../defenses/vaccines/index.ts";
import { writeSeenVaccines } from "../vaccines/training.ts";
import { wilson } from "../wilson.ts";

/** AgentDojo's pipeline defense and the configuration of ours that does the same job. */
export const PIPELINES = [
  { real: "none", ours: "none", label: "no defense" },
  { real: "tool_filter", ours: "tool-filter", label: "tool filter" },
  { real: "spotlighting_with_delimiting", ours: "spotlighting-delimit", label: "spotlighting (delimiting)" },
  { real: "repeat_user_prompt", ours: "repeat-user-prompt", label: "repeated request" },
  { real: "transformers_pi_detector", ours: "vaccine-naive-bayes", label: "detector" },
] as const;

/**
 * The detector: AgentDojo's is a classifier trained on prompt injections (ProtectAI's DeBERTa); ours is the n-gram
 * classifier trained on our seen split, scored where it did not learn.
 */
const DETECTOR = "naive-bayes";

interface Rate {
  readonly n: number;
  readonly k: number;
}
const rateOf = (r: Rate) => r.k / Math.max(1, r.n);
const show = (r: Rate) => {
  const [lo, hi] = wilson(r.k, r.n);
  return `${(100 * rateOf(r)).toFixed(1)} [${(100 * lo).toFixed(1)}–${(100 * hi).toFixed(1)}]`;
};

/** AgentDojo's rows: ASR under its important-instructions attack, utility without attack, per pipeline defense. */
async function realRows(dir: string, model: string): Promise<Map<string, { asr: Rate; utility: Rate }>> {
  const db = await DuckDBInstance.create(":memory:", { threads: "1" });
  const c = await db.connect();
  try {
    const result = await c.runAndReadAll(`
      SELECT defense,
        count(*) FILTER (WHERE attack = 'important_instructions')::INTEGER AS asr_n,
        count(*) FILTER (WHERE attack = 'important_instructions' AND security)::INTEGER AS asr_k,
        count(*) FILTER (WHERE attack = 'none')::INTEGER AS u_n,
        count(*) FILTER (WHERE attack = 'none' AND utility)::INTEGER AS u_k
      FROM read_parquet(${sqlLiteralPath(join(dir, TRAJECTORY_FILES.runs))})
      WHERE model = '${model.replaceAll("'", "''")}' AND task_kind = 'user' AND error IS NULL GROUP BY defense`);
    return new Map(result.getRowObjectsJS().map((r) => [String(r.defense), { asr: { n: Number(r.asr_n), k: Number(r.asr_k) }, utility: { n: Number(r.u_n), k: Number(r.u_k) } }]));
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/**
 * Ours: the single agent on our suites, every attack case of the held-out splits (the detector learned from the seen
 * split, so every pipeline is scored where none of them learned) and every benign task.
 */
async function ourRows(model: string, seeds: number, out: string, work: string): Promise<Map<string, { asr: Rate; utility: Rate }>> {
  const [detector] = await writeSeenVaccines(join(work, "vaccines"), [VACCINATORS.get(DETECTOR)!], 1);
  const run = await runBenchmark({
    config: "default",
    overrides: { models: [model], agents: ["single"], defenses: PIPELINES.map((p) => (p.ours === `vaccine-${DETECTOR}` ? detector! : p.ours)), seeds },
    out,
    onProgress: (done, total) => process.stderr.isTTY && process.stderr.write(`\rour suites: ${done}/${total} episodes`),
  });
  if (process.stderr.isTTY) process.stderr.write("\n");
  const table = await query(
    [run.dir],
    `SELECT defense,
       count(*) FILTER (WHERE attack_id IS NOT NULL AND split IN ('near', 'far') AND error IS NULL)::INTEGER AS asr_n,
       count(*) FILTER (WHERE attack_id IS NOT NULL AND split IN ('near', 'far') AND error IS NULL AND attack_success)::INTEGER AS asr_k,
       count(*) FILTER (WHERE attack_id IS NULL AND error IS NULL)::INTEGER AS u_n,
       count(*) FILTER (WHERE attack_id IS NULL AND error IS NULL AND utility)::INTEGER AS u_k
     FROM episodes GROUP BY defense`,
  );
  return new Map(table.toArray().map((r: Record<string, unknown>) => [String(r.defense), { asr: { n: Number(r.asr_n), k: Number(r.asr_k) }, utility: { n: Number(r.u_n), k: Number(r.u_k) } }]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trajectories: { type: "string", default: "../shared/data/agentdojo/runs.tar.gz" },
      model: { type: "string", default: "sim:gpt-4o-2024-05-13" },
      "real-model": { type: "string", default: "gpt-4o-2024-05-13" },
      seeds: { type: "string", default: "3" },
      out: { type: "string" },
    },
  });
  const from = values.trajectories!;
  if (!existsSync(from)) throw new Error(`--trajectories ${from}: not found (AgentDojo's runs.tar.gz, its runs/ folder, or a trajectory folder)`);
  const temporary = mkdtempSync(join(tmpdir(), "anis-agentdojo-table-"));
  try {
    let tables = from;
    if (!existsSync(join(from, TRAJECTORY_MANIFEST))) {
      tables = join(temporary, "trajectories");
      await importTrajectories({ from, out: tables });
    }
    const real = await realRows(tables, values["real-model"]!);
    const ours = await ourRows(values.model!, Number(values.seeds), values.out ?? join(temporary, "runs"), temporary);
    const rows = PIPELINES.map((p) => ({ label: p.label, names: `${p.real} / ${p.ours}`, real: real.get(p.real), ours: ours.get(p.ours) }));
    const missing = rows.find((r) => !r.real || !r.ours);
    if (missing) throw new Error(`no rows for ${missing.label} (${missing.real ? "ours" : `AgentDojo's ${values["real-model"]}`})`);
    const base = rows[0]!;
    const lines = [
      `| pipeline | AgentDojo ASR % | ours ASR % | ASR ÷ none (AgentDojo / ours) | AgentDojo utility % | ours utility % |`,
      `|---|---:|---:|---:|---:|---:|`,
      ...rows.map(
        (r) =>
          `| ${r.label} (${r.names}) | ${show(r.real!.asr)} | ${show(r.ours!.asr)} | ${(rateOf(r.real!.asr) / rateOf(base.real!.asr)).toFixed(2)} / ${(rateOf(r.ours!.asr) / Math.max(1e-9, rateOf(base.ours!.asr))).toFixed(2)} | ${show(r.real!.utility)} | ${show(r.ours!.utility)} |`,
      ),
    ];
    const rho = (pick: (r: (typeof rows)[number]) => [Rate, Rate]) => sampleRankCorrelation(rows.map((r) => rateOf(pick(r)[0])), rows.map((r) => rateOf(pick(r)[1])));
    lines.push(
      "",
      `Spearman's ρ over the five pipelines: ASR ${rho((r) => [r.real!.asr, r.ours!.asr]).toFixed(2)}, utility ${rho((r) => [r.real!.utility, r.ours!.utility]).toFixed(2)}`,
      `AgentDojo: ${values["real-model"]}, important_instructions, ${base.real!.asr.n} attacked runs per pipeline; ours: ${values.model}, single agent, held-out attack cases × ${values.seeds} seeds (${base.ours!.asr.n} per configuration), ${base.ours!.utility.n} benign episodes.`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
