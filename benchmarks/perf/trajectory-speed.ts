/**
 * How fast real trajectories go in and through the layers: imports AgentDojo's logs (default: the shipped archive in
 * ../shared/data) and replays them through a set of configurations, each step in its own CLI process so each peak
 * memory is its own. A benchmark, not a test: `npm run perf:trajectories [-- SOURCE [CONFIGURATIONS [VACCINATORS]]]`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runStamp } from "../../analysis/paths.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const source = process.argv[2] ?? join(ROOT, "../shared/data/agentdojo/runs.tar.gz");
const defenses = process.argv[3] ?? "signature-sensor,ifc,l1";
const vaccinators = process.argv[4] ?? "naive-bayes";
const temp = mkdtempSync(join(tmpdir(), "anis-perf-trajectories-"));
const anis = (...args: string[]) => execFileSync(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });

try {
  anis("import-trajectories", "--from", source, "--out", join(temp, "tables"));
  const imported = JSON.parse(readFileSync(join(temp, "tables", "trajectories.json"), "utf8"));
  anis("replay", "--trajectories", join(temp, "tables"), "--defenses", defenses, "--vaccinators", vaccinators, "--out", temp);
  const [dir] = readdirSync(temp).filter((d) => d.startsWith("replay-"));
  const replayed = JSON.parse(readFileSync(join(temp, dir!, "replay.json"), "utf8"));
  const configurations = replayed.configurations.length as number;
  const result = {
    source,
    import: { runs: imported.counts.runs, seconds: imported.seconds, runs_per_second: Math.round(imported.counts.runs / imported.seconds), peak_rss_mb: imported.peak_rss_mb },
    replay: {
      configurations: replayed.configurations.map((c: { name: string }) => c.name),
      runs: replayed.counts.runs,
      seconds: replayed.seconds,
      run_configurations_per_second: Math.round((replayed.counts.runs * configurations) / replayed.seconds),
      peak_rss_mb: replayed.peak_rss_mb,
    },
  };
  const out = join(ROOT, "results", `perf-trajectories-${runStamp()}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `import: ${result.import.runs} runs in ${result.import.seconds} s (${result.import.runs_per_second} runs/s), peak RSS ${result.import.peak_rss_mb} MB\n` +
      `replay: ${result.replay.runs} runs × ${configurations} configurations in ${result.replay.seconds} s (${result.replay.run_configurations_per_second} run-configurations/s), peak RSS ${result.replay.peak_rss_mb} MB\n` +
      `wrote ${out}`,
  );
} finally {
  rmSync(temp, { recursive: true, force: true });
}
