import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { makeOutputDir } from "../../analysis/output.ts";
import { runStamp } from "../../analysis/paths.ts";
import { computeReplay } from "../../analysis/replay.ts";
import { formatReplay } from "../../analysis/replay-format.ts";
import { SeenIndex } from "../../attacks/leakage.ts";
import { configurationNames, type DefenseConfiguration, loadConfigurationLayers, loadDefenseConfiguration } from "../../defenses/config.ts";
import { VACCINATORS } from "../../defenses/vaccines/index.ts";
import { loadCorpus, worldTexts } from "../corpus.ts";
import { SUITES } from "../suites/registry.ts";
import { exportRun } from "../trajectories/export.ts";
import { importTrajectories } from "../trajectories/import.ts";
import { TRAJECTORY_MANIFEST, type TrajectoryManifest } from "../trajectories/writer.ts";
import { replayTrajectories } from "../trajectories/replay.ts";
import { writeSeenVaccines } from "../vaccines/training.ts";
import { calibrateAll, derivedProfiles, readProfileFile, writeProfile } from "../calibration/run.ts";
import { formatCalibration, formatModels } from "../calibration/report.ts";
import { checkOperatingPoint, list, positiveInt, rateOption, UsageError } from "./options.ts";
import { createProgress } from "./progress.ts";

/** The import's summary: counts per pipeline, every file not imported, and the attacker-value rule against `security`. */
function describeImport(m: TrajectoryManifest): string {
  const lines = [`imported ${m.counts.runs} runs from ${m.counts.files} ${m.source === "anis" ? "episodes" : "files"} in ${m.seconds.toFixed(1)} s (peak RSS ${m.peak_rss_mb} MB): ${m.counts.tool_outputs} tool outputs, ${m.counts.model_calls} model calls`];
  const width = Math.max(...Object.keys(m.pipelines).map((p) => p.length), 8);
  lines.push(`${"pipeline".padEnd(width)}  runs  errored  outputs  injected  withheld  calls  goal calls`);
  for (const [name, c] of Object.entries(m.pipelines)) {
    lines.push(
      `${name.padEnd(width)}  ${String(c.runs).padStart(4)}  ${String(c.errored_runs).padStart(7)}  ${String(c.tool_outputs).padStart(7)}  ${String(c.injected_outputs).padStart(8)}  ${String(c.withheld_outputs).padStart(8)}  ${String(c.model_calls).padStart(5)}  ${String(c.goal_calls).padStart(10)}`,
    );
  }
  lines.push("attacker-value rule (a goal call in the run) against the logged security, attacked runs without error:");
  for (const g of m.goal_rule) {
    lines.push(`  ${g.suite.padEnd(10)} ${g.runs} runs: both ${g.both}, rule only ${g.rule_only}, security only ${g.security_only}, neither ${g.neither}; agreement ${g.agreement.toFixed(3)}, kappa ${g.kappa?.toFixed(3) ?? "–"}`);
  }
  const unknown = Object.entries(m.unknown_tools);
  if (unknown.length > 0) lines.push(`calls to tools the suites do not have (no action): ${unknown.map(([t, n]) => `${t} ${n}`).join(", ")}`);
  for (const s of m.skipped) lines.push(`skipped ${s.path}: ${s.reason}`);
  return lines.join("\n");
}

function reportMalformed(m: TrajectoryManifest): void {
  for (const f of m.malformed) process.stderr.write(`error: ${f.path}: ${f.problem}\n`);
  if (m.malformed.length > 0) {
    process.stderr.write(`error: ${m.malformed.length} of ${m.counts.files} files are not run logs (listed above and in ${TRAJECTORY_MANIFEST}); the others were imported\n`);
    process.exitCode = 2;
  }
}

/** The configurations and vaccinators a replay runs, checked before anything is written: bad names cost nothing. */
async function replayChoices(defenses: readonly string[], vaccinators: readonly string[]): Promise<{ configurations: DefenseConfiguration[]; vaccinators: string[] }> {
  // `none` flags nothing by definition: a replay has no baseline to measure against.
  const names = (defenses.length === 1 && defenses[0] === "all" ? configurationNames() : defenses).filter((d) => d !== "none");
  const chosen = vaccinators.length === 1 && vaccinators[0] === "all" ? [...VACCINATORS.keys()] : vaccinators.filter((v) => v !== "none");
  const unknown = chosen.filter((v) => !VACCINATORS.has(v));
  if (unknown.length > 0) throw new UsageError(`unknown vaccinator "${unknown[0]}". Valid vaccinators: ${[...VACCINATORS.keys()].join(", ")}, all, or none`);
  await loadConfigurationLayers(names);
  return { configurations: names.map((n) => loadDefenseConfiguration(n)), vaccinators: chosen };
}

/** `import-trajectories` and `replay`: real agents' runs in, and every layer scored on what real models read and did. */
export function addTrajectoryCommands(program: Command): void {
  program
    .command("import-trajectories")
    .description("import real agents' runs (AgentDojo's runs/ layout: a folder, or runs.tar.gz) into trajectory tables: runs, tool outputs, model calls as Parquet")
    .requiredOption("--from <path>", "AgentDojo's runs/ folder (or a folder above it), a .tar or .tar.gz of it, or one .json log")
    .requiredOption("--out <dir>", "a new or empty folder for runs.parquet, tool_outputs.parquet, model_calls.parquet and trajectories.json")
    .action(async (opts: { from: string; out: string }) => {
      makeOutputDir(opts.out);
      const manifest = await importTrajectories({ from: opts.from, out: opts.out, onFile: (n) => process.stderr.isTTY && process.stderr.write(`\rread ${n} files`) });
      if (process.stderr.isTTY) process.stderr.write("\n");
      process.stdout.write(`${describeImport(manifest)}\nwrote ${opts.out}\n`);
      reportMalformed(manifest);
    });

  program
    .command("export-trajectories")
    .description("export one of our run folders (a real endpoint's, or the simulated model's) as the same trajectory tables, to pool or replay beside AgentDojo's")
    .argument("<run-dir>", "a finished run folder")
    .requiredOption("--out <dir>", "a new or empty folder for the trajectory tables")
    .action(async (run: string, opts: { out: string }) => {
      makeOutputDir(opts.out);
      const manifest = await exportRun({ run, out: opts.out });
      process.stdout.write(`${describeImport(manifest)}\nwrote ${opts.out}\n`);
    });

  program
    .command("replay")
    .description("replay real trajectories through defense configurations and vaccines: what each flags of real injected and clean tool outputs and of real attacker and benign calls")
    .requiredOption("--trajectories <path>", "a trajectory folder (from import-trajectories), or AgentDojo's runs/ folder or runs.tar.gz (imported first)")
    .option("--defenses <names>", "defense configurations, comma-separated, or all", list, ["all"])
    .option("--vaccinators <names>", `vaccinators trained on our seen split and replayed as layers, comma-separated: ${[...VACCINATORS.keys()].join(", ")}, all or none`, list, ["all"])
    .option("--pipelines <names>", "only the runs of these pipelines, comma-separated", list)
    .option("--seed <n>", "training seed of the vaccines", positiveInt("seed"), 1)
    .option("--operating-point <quantile>", "for the vaccinators with one (co-stimulation): the quantile of unseen self scores the text threshold sits at (default: their own)", rateOption("operating-point"))
    .option("--out <dir>", "folder for the replay-<stamp>/ folder", "results")
    .addOption(new Option("--format <format>", "output format").choices(["table", "md", "json"]).default("table"))
    .action(async (opts: { trajectories: string; defenses: string[]; vaccinators: string[]; pipelines?: string[]; seed: number; operatingPoint?: number; out: string; format: "table" | "md" | "json" }) => {
      if (!existsSync(opts.trajectories)) throw new UsageError(`--trajectories ${opts.trajectories}: not found`);
      const choices = await replayChoices(opts.defenses, opts.vaccinators);
      checkOperatingPoint(opts.operatingPoint, choices.vaccinators.map((v) => VACCINATORS.get(v)!), [...VACCINATORS.values()]);
      const dir = resolve(makeOutputDir(opts.out, `replay-${runStamp()}`));
      let tables = opts.trajectories;
      if (!existsSync(join(opts.trajectories, TRAJECTORY_MANIFEST))) {
        tables = join(dir, "trajectories");
        const imported = await importTrajectories({ from: opts.trajectories, out: tables });
        process.stderr.write(`${describeImport(imported)}\n`);
        reportMalformed(imported);
      }
      // Each vaccinator is trained on our seen split, as shipped; its artifact and configuration are kept with the replay.
      const vaccines = choices.vaccinators.length === 0 ? [] : await writeSeenVaccines(join(dir, "vaccines"), choices.vaccinators.map((v) => VACCINATORS.get(v)!), opts.seed, opts.operatingPoint);
      const configurations = [...choices.configurations, ...vaccines.map((f) => loadDefenseConfiguration(f))];
      const corpus = loadCorpus();
      const seen = new SeenIndex(
        corpus.filter((c) => c.split === "seen"),
        [...SUITES.keys()].flatMap(worldTexts),
      );
      const progress = createProgress("replay", process.stderr, "runs");
      const manifest = await replayTrajectories({
        trajectories: tables,
        configurations,
        out: dir,
        pipelines: opts.pipelines,
        seenOverlap: (texts) => seen.measureTexts(texts),
        onProgress: (d, t) => progress.update(d, t),
      }).finally(() => progress.stop());
      const report = await computeReplay(dir);
      writeFileSync(join(dir, "replay.md"), `${formatReplay(report, "md")}\n`);
      process.stderr.write(`wrote ${dir}: ${manifest.counts.runs} runs × ${configurations.length} configurations in ${manifest.seconds.toFixed(1)} s (peak RSS ${manifest.peak_rss_mb} MB)\n`);
      process.stdout.write(opts.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : `${formatReplay(report, opts.format)}\n`);
    });

  program
    .command("calibrate")
    .description("fit simulated-model profiles to real runs (maximum likelihood over the runs in which the model read the injection) and print each fit's fidelity on runs it did not see")
    .requiredOption("--trajectories <path>", "a trajectory folder (from import-trajectories), or AgentDojo's runs/ folder or runs.tar.gz (imported into a temporary folder)")
    .option("--models <names>", "models to fit, comma-separated (default: every model with enough runs)", list)
    .option("--prior <file>", "the profile a fit starts from (default: benchmarks/calibration/argued.json)")
    .option("--derive", "also write typical (the median fitted model), cautious (the least compliant) and careless", false)
    .option("--out <dir>", "folder for the profile files (<model>.json); `sim:profile=FILE` loads one", "results/profiles")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts: { trajectories: string; models?: string[]; prior?: string; derive: boolean; out: string; format: "table" | "json" }) => {
      if (!existsSync(opts.trajectories)) throw new UsageError(`--trajectories ${opts.trajectories}: not found`);
      const prior = opts.prior === undefined ? undefined : readProfileFile(opts.prior);
      let tables = opts.trajectories;
      let temporary: string | null = null;
      if (!existsSync(join(opts.trajectories, TRAJECTORY_MANIFEST))) {
        temporary = mkdtempSync(join(tmpdir(), "anis-calibrate-"));
        tables = join(temporary, "trajectories");
        const imported = await importTrajectories({ from: opts.trajectories, out: tables });
        process.stderr.write(`${describeImport(imported)}\n`);
        reportMalformed(imported);
      }
      try {
        const calibrations = await calibrateAll({ trajectories: tables, models: opts.models, prior, source: opts.trajectories });
        const profiles = [...calibrations.map((c) => c.profile), ...(opts.derive ? derivedProfiles(calibrations) : [])];
        const written = profiles.map((p) => writeProfile(opts.out, p));
        if (opts.format === "json") process.stdout.write(`${JSON.stringify(calibrations, null, 2)}\n`);
        else process.stdout.write(`${calibrations.map(formatCalibration).join("\n\n")}\n\n${formatModels(calibrations)}\n`);
        process.stderr.write(`wrote ${written.length} profiles to ${opts.out}\n`);
      } finally {
        if (temporary) rmSync(temporary, { recursive: true, force: true });
      }
    });
}
