/**
 * How fast the runner is, on the simulated model: `npm run perf [-- --sample N --scale-config NAME --profile]`.
 * A benchmark, not a test. Each measurement runs in its own process (so peak memory is its own):
 *
 * - runner: the matrix as `anis run` runs it (worker threads, one per core, LangGraph tuned as campaign-runner.ts says);
 * - runner with one worker: what the tuning alone gains (in the main thread: the environment stays as it is);
 * - plain loop: the same campaigns in one process, one `graph.invoke` after another, LangGraph as it comes;
 * - bare loop: the same node functions in a plain loop without LangGraph — the floor;
 * - defense overhead per layer configuration, in microseconds per step;
 * - the cost curve as the matrix grows 1×, 4×, 16× (more seeds): time per episode and peak memory;
 * - with `--profile`, where the CPU time of a plain run and of the one-worker runner goes.
 *
 * All drivers must produce the same results: their digests are compared.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { openResults, queryRows } from "../../analysis/results.ts";
import { loadRunConfig } from "../runner/config.ts";
import type { EpisodeDriver } from "../runner/campaign-runner.ts";
import { workerCount } from "../runner/pool.ts";
import { executeRun } from "../runner/run.ts";
import { runStamp } from "../../analysis/paths.ts";

const PHASES = {
  runner: { driver: "langgraph", threads: true, label: "runner (worker threads, LangGraph tuned)" },
  "one-worker": { driver: "langgraph", threads: false, label: "runner with one worker, in-process" },
  plain: { driver: "langgraph-untuned", threads: false, label: "plain loop of graph.invoke, one process, LangGraph as it comes" },
  bare: { driver: "bare", threads: false, label: "bare loop without LangGraph (floor)" },
} satisfies Record<string, { driver: EpisodeDriver; threads: boolean; label: string }>;
type Driver = keyof typeof PHASES;

interface PhaseResult {
  readonly driver: Driver;
  readonly config: string;
  readonly scale: number;
  readonly workers: number;
  readonly episodes: number;
  readonly seconds: number;
  readonly episodes_per_second: number;
  readonly peak_rss_mb: number;
  readonly digest: string;
  readonly overhead: { defense: string; defense_us_per_step: number; episode_us_per_step: number }[];
}

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** One measurement, in this process: a run of the matrix through one driver. */
async function phase(driver: Driver, configName: string, sample: number | null, scale: number): Promise<PhaseResult> {
  const base = loadRunConfig(configName);
  const config = { ...base, seeds: base.seeds * scale, ...(sample !== null && { sample }) };
  const workers = PHASES[driver].threads ? workerCount({ ...config, workers: "auto" }) : 1;
  const out = mkdtempSync(join(tmpdir(), "anis-perf-"));
  try {
    const summary = await executeRun({ config, out, runId: driver, endpoint: {}, workers, driver: PHASES[driver].driver });
    const db = await openResults([summary.dir]);
    const overhead = await queryRows(
      db.connection,
      `SELECT defense, round(sum(defense_us) / sum(steps), 1) AS defense_us_per_step, round(sum(duration_ms) * 1000 / sum(steps), 1) AS episode_us_per_step
       FROM episodes GROUP BY defense ORDER BY defense`,
    );
    db.close();
    return {
      driver,
      config: configName,
      scale,
      workers,
      episodes: summary.episodes,
      seconds: Math.round(summary.seconds * 10) / 10,
      episodes_per_second: Math.round(summary.episodesPerSecond * 10) / 10,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      digest: summary.digest.episodes,
      overhead: overhead as unknown as PhaseResult["overhead"],
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Runs a phase in a child process and reads its result (the last line it prints). */
function measure(driver: Driver, configName: string, sample: number | null, scale: number, profileDir?: string): PhaseResult {
  const args = ["--import", "tsx", ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []), SELF, "--phase", driver, "--config", configName, "--scale", String(scale)];
  if (sample !== null) args.push("--sample", String(sample));
  process.stderr.write(`  ${driver} ${configName}${sample !== null ? ` sample ${sample}` : ""} ×${scale} …\n`);
  const child = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) throw new Error(`${driver} phase failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as PhaseResult;
}

/** Where a CPU profile's self time goes, by what the code is. */
function profileShares(dir: string): { category: string; share: number }[] {
  const file = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const profile = JSON.parse(readFileSync(file, "utf8")) as {
    nodes: { id: number; callFrame: { url: string; functionName: string } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const category = (url: string, fn: string): string => {
    if (fn === "(garbage collector)") return "garbage collection";
    if (fn === "(idle)" || fn === "(program)") return "idle and V8";
    if (/crypto\/random|\/uuid\/|random-pool\.ts/.test(url)) return "id generation (uuid, crypto random)";
    if (url.includes("node_modules/langsmith")) return "LangSmith run trees";
    if (url.includes("node_modules/@langchain/langgraph")) return "LangGraph (Pregel loop, channels, checkpoints)";
    if (url.includes("node_modules/@langchain/core")) return "LangChain core (runnables, callbacks, config)";
    if (url.includes("node_modules/@duckdb")) return "DuckDB (results)";
    if (url.startsWith("file://") && !url.includes("node_modules")) return "ANIS (agents, defenses, simulated model, runner)";
    return "other (Node internals, other packages)";
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, category(n.callFrame.url, n.callFrame.functionName)]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    totals.set(byId.get(id)!, (totals.get(byId.get(id)!) ?? 0) + dt);
    all += dt;
  });
  return [...totals].map(([c, t]) => ({ category: c, share: Math.round((1000 * t) / all) / 10 })).sort((a, b) => b.share - a.share);
}

const program = new Command()
  .option("--phase <driver>", "internal: run one measurement in this process")
  .option("--config <name>", "run configuration of the main measurement", "default")
  .option("--sample <n>", "a fixed sample of n attack cases (default: every case)", (v) => Number(v))
  .option("--scale <k>", "internal: seeds multiplier", (v) => Number(v), 1)
  .option("--scale-config <name>", "run configuration the cost curve grows from", "quick")
  .option("--rounds <n>", "measure every driver n times, interleaved, and report medians: this VM's speed drifts", (v) => Number(v), 1)
  .option("--no-scaling", "skip the 1×/4×/16× cost curve")
  .option("--profile", "profile a plain run and the one-worker runner and show where their CPU time goes")
  .parse();
const opts = program.opts();

if (opts.phase) {
  const result = await phase(opts.phase as Driver, opts.config, opts.sample ?? null, opts.scale);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const sample = opts.sample ?? null;
  process.stderr.write("measuring (each in its own process):\n");
  const drivers = Object.keys(PHASES) as Driver[];
  // Interleaved, so a slow spell of the machine falls on every driver of a round and the ratios within it hold.
  const rounds = Array.from({ length: Math.max(1, opts.rounds) }, () =>
    Object.fromEntries(drivers.map((d) => [d, measure(d, opts.config, sample, 1)])) as Record<Driver, PhaseResult>,
  );
  const phases = rounds.flatMap((r) => Object.values(r));
  const runner = rounds[0]!.runner;
  const same = phases.every((p) => p.digest === runner.digest);
  const curve = opts.scaling ? [1, 4, 16].map((k) => measure("runner", opts.scaleConfig, null, k)) : [];
  const profiled = (driver: Driver) => {
    const dir = mkdtempSync(join(tmpdir(), "anis-prof-"));
    try {
      measure(driver, opts.config, sample, 1, dir);
      return profileShares(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const profile = opts.profile ? { plain: profiled("plain"), one_worker: profiled("one-worker") } : null;
  const median = (values: readonly number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  /** a / b in every round, then the median: `2.08×, 2.11× → median 2.10×`. */
  const ratios = (a: Driver, b: Driver) => rounds.map((r) => r[a].episodes_per_second / r[b].episodes_per_second);
  const ratio = (a: Driver, b: Driver) => {
    const each = ratios(a, b);
    return each.length === 1 ? `${each[0]!.toFixed(2)}×` : `${each.map((x) => `${x.toFixed(2)}×`).join(", ")} → median ${median(each).toFixed(2)}×`;
  };
  const plainShare = median(ratios("plain", "bare"));

  /** Least-squares line of seconds over episodes: its slope in ms/episode, and R² (1 is a straight line). */
  const fit = (points: readonly PhaseResult[]) => {
    const mean = (f: (p: PhaseResult) => number) => points.reduce((sum, p) => sum + f(p), 0) / points.length;
    const [mx, my] = [mean((p) => p.episodes), mean((p) => p.seconds)];
    const [sxy, sxx, syy] = [mean((p) => (p.episodes - mx) * (p.seconds - my)), mean((p) => (p.episodes - mx) ** 2), mean((p) => (p.seconds - my) ** 2)];
    return { ms_per_episode: (1000 * sxy) / sxx, r2: (sxy * sxy) / (sxx * syy) };
  };
  const curveFit = curve.length > 0 ? fit(curve) : null;
  /** Milliseconds each added episode costs between two sizes: the slope of the cost curve. */
  const marginal = (a: PhaseResult, b: PhaseResult) => (1000 * (b.seconds - a.seconds)) / (b.episodes - a.episodes);
  const line = (d: Driver) => {
    const each = rounds.map((r) => r[d]);
    const first = each[0]!;
    return `| ${PHASES[d].label} | ${first.workers} | ${first.episodes} | ${each.map((p) => p.seconds).join(", ")} | **${median(each.map((p) => p.episodes_per_second)).toFixed(1)}** | ${Math.max(...each.map((p) => p.peak_rss_mb))} |`;
  };
  const report = [
    `## Runner speed: ${opts.config}${sample !== null ? ` (sample ${sample})` : ""}, simulated model`,
    "",
    `| driver | workers | episodes | seconds${rounds.length > 1 ? " (each round)" : ""} | episodes/s${rounds.length > 1 ? " (median)" : ""} | peak RSS MB |`,
    "|---|---|---|---|---|---|",
    ...drivers.map(line),
    "",
    `- runner / plain loop: **${ratio("runner", "plain")}** (one worker / plain loop: ${ratio("one-worker", "plain")}; runner / one worker: ${ratio("runner", "one-worker")})`,
    `- plain loop / bare loop: ${ratio("plain", "bare")} (the share of LangGraph's own cost: ${(100 * (1 - plainShare)).toFixed(0)}% of a plain run's time)`,
    `- runner / bare loop: ${ratio("runner", "bare")}`,
    `- same results from every driver (episodes digest): ${same ? `yes (${runner.digest})` : `NO: ${phases.map((p) => `${p.driver} ${p.digest}`).join(", ")}`}`,
    "",
    `### Defense overhead per configuration (runner${rounds.length > 1 ? ", first round" : ""})`,
    "",
    "| configuration | defense µs/step | episode µs/step (all work) |",
    "|---|---|---|",
    ...runner.overhead.map((o) => `| ${o.defense} | ${o.defense_us_per_step} | ${o.episode_us_per_step} |`),
    ...(curve.length > 0
      ? [
          "",
          `### Cost curve: ${opts.scaleConfig} × 1, 4, 16 (runner)`,
          "",
          "| scale | episodes | seconds | ms/episode | marginal ms/episode | episodes/s | peak RSS MB |",
          "|---|---|---|---|---|---|---|",
          ...curve.map((c, i) => `| ${c.scale}× | ${c.episodes} | ${c.seconds} | ${((1000 * c.seconds) / c.episodes).toFixed(2)} | ${i === 0 ? "–" : marginal(curve[i - 1]!, c).toFixed(2)} | ${c.episodes_per_second} | ${c.peak_rss_mb} |`),
          "",
          `- seconds over episodes, least squares: ${curveFit!.ms_per_episode.toFixed(2)} ms per episode, R² ${curveFit!.r2.toFixed(4)}; marginal cost per episode, 4×→16× over 1×→4×: ${(marginal(curve[1]!, curve[2]!) / marginal(curve[0]!, curve[1]!)).toFixed(2)} (1.00 is linear; the fixed cost of starting the workers is what makes small runs dearer per episode); peak memory 16× / 1×: ${(curve[2]!.peak_rss_mb / curve[0]!.peak_rss_mb).toFixed(2)}`,
        ]
      : []),
    ...(profile
      ? [
          "",
          "### Where the CPU time goes (self time, one process)",
          "",
          "| what | plain loop % | runner, one worker % |",
          "|---|---|---|",
          ...profile.plain.map((p) => `| ${p.category} | ${p.share} | ${profile.one_worker.find((q) => q.category === p.category)?.share ?? 0} |`),
        ]
      : []),
  ].join("\n");
  process.stdout.write(`${report}\n`);
  const dir = join(ROOT, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `perf-${runStamp()}.json`);
  writeFileSync(file, `${JSON.stringify({ rounds, runner_over_plain: ratios("runner", "plain"), same_results: same, curve, curve_fit: curveFit, profile }, null, 2)}\n`);
  process.stderr.write(`wrote ${file}\n`);
  if (!same) process.exitCode = 1;
}
