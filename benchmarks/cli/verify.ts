import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import { runStamp } from "../../analysis/paths.ts";
import { configurationNames, loadConfigurationLayers, loadDefenseConfiguration } from "../../defenses/config.ts";
import { type RunConfig, RunConfigError, RunConfigSchema } from "../runner/config.ts";
import { executeRun, readRunManifest } from "../runner/run.ts";

/**
 * A verified leaderboard: the configurations of public runs scored again on a private set — cases, families and
 * tasks in a folder that is not published — so that no layer can owe its rank to having read the corpus.
 */
export interface PrivateSet {
  readonly dir: string;
  /** A hash of every file of the set: what the board names it by, without showing it. */
  readonly hash: string;
  readonly cases: readonly string[];
  readonly families: readonly string[];
  readonly tasks: readonly string[];
}

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : []));

/** A private set's folder: `cases/`, `families/` and `tasks/` (at least cases or families), as `run` takes them. */
export function readPrivateSet(dir: string): PrivateSet {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new RunConfigError(`--verify-with ${dir}: no such folder`);
  const part = (name: string) => (existsSync(join(root, name)) ? [join(root, name)] : []);
  const [cases, families, tasks] = [part("cases"), part("families"), part("tasks")];
  if (cases.length + families.length === 0) {
    throw new RunConfigError(`--verify-with ${dir}: a private set is a folder with cases/ or families/ (and tasks/ for benign work), as run --cases, --families and --tasks take them`);
  }
  const hash = createHash("sha256");
  for (const file of filesUnder(root).sort()) hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  return { dir: root, hash: hash.digest("hex").slice(0, 12), cases, families, tasks };
}

/**
 * Runs every configuration of the public runs on the private set, under their models, suites and agent systems:
 * only its cases, and its tasks when it has some. A configuration that cannot be run here (its file is not on this
 * machine, its service does not answer) or whose definition differs from the public run's is not verified, and the
 * reason is returned.
 */
export async function runVerification(
  runDirs: readonly string[],
  set: PrivateSet,
  options: { readonly out: string; readonly endpoint: OpenAIEndpoint; readonly onProgress?: (done: number, total: number) => void },
): Promise<{ dir: string; unverified: Map<string, string> }> {
  const manifests = runDirs.map((d) => readRunManifest(d));
  const union = (pick: (c: RunConfig) => readonly string[]) => [...new Set(manifests.flatMap((m) => pick(m.config)))];
  const published = new Map<string, { file: string; hash: string }>();
  for (const m of manifests) for (const d of (m as unknown as { defenses: { name: string; file: string; hash: string }[] }).defenses) published.set(d.name, d);
  const unverified = new Map<string, string>();
  const runnable: string[] = [];
  for (const [name, { file }] of published) {
    const use = configurationNames().includes(name) ? name : file;
    try {
      await loadConfigurationLayers([use]);
      loadDefenseConfiguration(use);
      runnable.push(use);
    } catch (error) {
      unverified.set(name, `cannot be run here: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  if (runnable.length === 0) throw new RunConfigError(`--verify-with: no configuration of these runs can be run here (${[...unverified.values()].join("; ")})`);
  const config = RunConfigSchema.parse({
    name: "verify",
    description: `the public runs' configurations on private set ${set.hash}`,
    suites: union((c) => c.suites),
    agents: union((c) => c.agents),
    defenses: runnable,
    models: union((c) => c.models),
    seeds: Math.max(...manifests.map((m) => m.config.seeds)),
    cases: set.cases,
    families: set.families,
    tasks: set.tasks,
    only_outside: true,
    workers: "auto",
  });
  const summary = await executeRun({ config, out: options.out, runId: `verify-${set.hash}-${runStamp()}`, endpoint: options.endpoint, onProgress: options.onProgress });
  const ran = readRunManifest(summary.dir) as unknown as { defenses: { name: string; hash: string }[] };
  for (const d of ran.defenses) {
    const before = published.get(d.name);
    if (before && before.hash !== d.hash) unverified.set(d.name, `its definition here (hash ${d.hash}) is not the public run's (${before.hash})`);
  }
  return { dir: summary.dir, unverified };
}
