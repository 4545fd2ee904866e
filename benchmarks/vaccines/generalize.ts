import { writeFileSync } from "node:fs";
import { RunConfigError } from "../runner/config.ts";
import { makeOutputDir } from "../../analysis/output.ts";
import { runStamp } from "../../analysis/paths.ts";
import { join, resolve } from "node:path";
import { computeReport } from "../../analysis/report.ts";
import { openResults, queryRows } from "../../analysis/results.ts";
import { VACCINATORS } from "../../defenses/vaccines/index.ts";
import { loadRunConfig, type RunConfig } from "../runner/config.ts";
import { executeRun, type RunSummary } from "../runner/run.ts";
import { benignHalf, writeSeenVaccines } from "./training.ts";

const Z = 1.959963984540054;

/** A rate with its Wilson 95% interval. */
export interface Rate {
  readonly k: number;
  readonly n: number;
  readonly rate: number | null;
  readonly lo: number | null;
  readonly hi: number | null;
}

/**
 * BR(unseen) / BR(seen) with Katz's log interval for a ratio of two independent proportions. When nothing unseen
 * was blocked the log interval has no upper end; it is taken with half a block added (Haldane's correction), and
 * the lower end is 0.
 */
export function generalizationIndex(unseen: Rate, seen: Rate): { index: number | null; lo: number | null; hi: number | null } {
  if (!unseen.n || !seen.n || !seen.k) return { index: null, lo: null, hi: null };
  const index = unseen.k / unseen.n / (seen.k / seen.n);
  const k = unseen.k === 0 ? 0.5 : unseen.k;
  const n = unseen.k === 0 ? unseen.n + 0.5 : unseen.n;
  const se = Math.sqrt(1 / k - 1 / n + 1 / seen.k - 1 / seen.n);
  const corrected = k / n / (seen.k / seen.n);
  return { index, lo: unseen.k === 0 ? 0 : index * Math.exp(-Z * se), hi: corrected * Math.exp(Z * se) };
}

export interface GeneralizationRow {
  readonly vaccinator: string;
  readonly depth: string;
  readonly model: string;
  readonly block_rate: Readonly<Record<"seen" | "near" | "far", Rate>>;
  readonly index_near: ReturnType<typeof generalizationIndex>;
  readonly index_far: ReturnType<typeof generalizationIndex>;
  /** Benign episodes of the held-out half with an intervention: tasks whose content the vaccine never saw as self. */
  readonly autoimmunity: Rate;
  /** Of the held-out half's episodes done undefended (same task and seed), the share the vaccine left undone. */
  readonly harmful_autoimmunity: Rate;
}

/**
 * The generalization protocol: every vaccinator trained on the `seen` split (and the `train` half of the benign
 * tasks as self), then the whole corpus run undefended and under each vaccine; block rate per split against the
 * undefended baseline, the index BR(near)/BR(seen) and BR(far)/BR(seen), and autoimmunity on the `evaluate` half
 * of the benign tasks. Artifacts, configurations and the run land in `out/generalize-<stamp>/`.
 */
export async function runGeneralization(options: {
  readonly out: string;
  readonly models: readonly string[];
  readonly seed: number;
  /** The operating point of the vaccinators that have one (default: their own). */
  readonly operatingPoint?: number;
  /** The vaccinators to compare (default: every one). */
  readonly vaccinators?: readonly string[];
  readonly onProgress?: (done: number, total: number) => void;
}): Promise<{ rows: GeneralizationRow[]; dir: string; run: RunSummary }> {
  const unknown = (options.vaccinators ?? []).filter((v) => !VACCINATORS.has(v));
  if (unknown.length > 0) throw new RunConfigError(`unknown vaccinator "${unknown[0]}". Valid vaccinators: ${[...VACCINATORS.keys()].join(", ")}`);
  const chosen = [...VACCINATORS.values()].filter((v) => options.vaccinators === undefined || options.vaccinators.includes(v.id));
  const dir = resolve(makeOutputDir(options.out, `generalize-${runStamp()}`));
  const configs = await writeSeenVaccines(dir, chosen, options.seed, options.operatingPoint);
  const config: RunConfig = {
    ...loadRunConfig("default"),
    name: "generalize",
    description: "Every vaccinator trained on seen, evaluated on seen, near and far, with held-out benign tasks",
    agents: ["single", "supervisor"],
    defenses: ["none", ...configs],
    models: [...options.models],
  };
  const run = await executeRun({ config, out: dir, runId: "run", endpoint: {}, onProgress: options.onProgress });
  const db = await openResults([run.dir]);
  try {
    const bySplit = await computeReport(db, ["split"]);
    const benign = await queryRows(db.connection, "SELECT defense, model, suite, user_task, alarms > 0 AS intervened FROM benign_episodes WHERE error IS NULL");
    // Benign work the vaccine broke: tasks done undefended (same task and seed) and not done with it.
    const paired = await queryRows(db.connection, "SELECT defense, model, suite, user_task, NOT utility AS broken FROM benign_pairs WHERE baseline_utility");
    // Intervals from the same Wilson macro every report uses.
    const wilson = async (k: number, n: number): Promise<Rate> => {
      const [r] = await queryRows(db.connection, `SELECT rate(${k}, ${n}) AS rate, wilson_lo(${k}, ${n}) AS lo, wilson_hi(${k}, ${n}) AS hi`);
      return { k, n, rate: (r?.rate as number | null) ?? null, lo: (r?.lo as number | null) ?? null, hi: (r?.hi as number | null) ?? null };
    };
    const rows: GeneralizationRow[] = [];
    for (const vaccinator of chosen) {
      for (const model of options.models) {
        const name = `vaccine-${vaccinator.id}`;
        const rate = (split: string): Rate => {
          const r = bySplit.find((x) => x.defense === name && x.model === model && x.split === split);
          const n = Number(r?.n_block_base ?? 0);
          return { k: Math.round((r?.block_rate ?? 0) * n), n, rate: r?.block_rate ?? null, lo: (r?.block_rate_lo as number | null) ?? null, hi: (r?.block_rate_hi as number | null) ?? null };
        };
        const isHeld = (b: Record<string, unknown>) => b.defense === name && b.model === model && benignHalf(String(b.suite), String(b.user_task)) === "evaluate";
        const held = benign.filter(isHeld);
        const heldPairs = paired.filter(isHeld);
        const block_rate = { seen: rate("seen"), near: rate("near"), far: rate("far") };
        rows.push({
          vaccinator: vaccinator.id,
          depth: vaccinator.depth,
          model,
          block_rate,
          index_near: generalizationIndex(block_rate.near, block_rate.seen),
          index_far: generalizationIndex(block_rate.far, block_rate.seen),
          autoimmunity: await wilson(held.filter((b) => b.intervened).length, held.length),
          harmful_autoimmunity: await wilson(heldPairs.filter((b) => b.broken).length, heldPairs.length),
        });
      }
    }
    writeFileSync(join(dir, "generalization.json"), `${JSON.stringify(rows, null, 2)}\n`);
    writeFileSync(join(dir, "generalization.md"), `${formatGeneralization(rows, "md")}\n`);
    return { rows, dir, run };
  } finally {
    db.close();
  }
}

const num = (v: number | null, digits = 2) => (v === null ? "–" : v.toFixed(digits));
const withInterval = (r: { rate?: number | null; index?: number | null; lo: number | null; hi: number | null }) =>
  `${num(r.rate ?? r.index ?? null)} [${num(r.lo)}–${num(r.hi)}]`;

export function formatGeneralization(rows: readonly GeneralizationRow[], format: "table" | "md"): string {
  const header = ["vaccinator", "depth", "model", "BR seen", "BR near", "BR far", "index near", "index far", "autoimmunity (held-out)", "harmful AIR (held-out)"];
  const body = rows.map((r) => [
    r.vaccinator,
    r.depth,
    r.model,
    withInterval(r.block_rate.seen),
    withInterval(r.block_rate.near),
    withInterval(r.block_rate.far),
    withInterval(r.index_near),
    withInterval(r.index_far),
    `${withInterval(r.autoimmunity)} of ${r.autoimmunity.n}`,
    `${withInterval(r.harmful_autoimmunity)} of ${r.harmful_autoimmunity.n}`,
  ]);
  if (format === "md") return [header, header.map(() => "---"), ...body].map((c) => `| ${c.join(" | ")} |`).join("\n");
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [header, ...body].map((c) => c.map((x, i) => x.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}
