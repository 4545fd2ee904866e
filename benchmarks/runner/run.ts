import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import { checkModelName, type ModelHandle, resolveModel } from "../../agents/models/registry.ts";
import { type AgentSystem, buildAgentSystem, AGENT_SYSTEMS, AgentSystemError } from "../../agents/systems.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { configurationNames, type DefenseConfiguration, loadDefenseConfiguration } from "../../defenses/config.ts";
import { importInjecAgent } from "../../attacks/importers/injecagent.ts";
import { AttackFileError } from "../../attacks/load.ts";
import { checkAgainstSuite, corpusHash, loadCorpus } from "../corpus.ts";
import { injecAgentSuite } from "../suites/injecagent/index.ts";
import { getSuite } from "../suites/registry.ts";
import type { Suite } from "../suites/suite.ts";
import { globMatcher, type RunConfig } from "./config.ts";
import { type Campaign, campaignId, runCampaign } from "./episode.ts";
import { gitState, hashOf, packageVersions, writeManifest } from "./manifest.ts";
import { ResultsWriter } from "./writer.ts";

export interface RunOptions {
  readonly config: RunConfig;
  /** Folder that receives `<run-id>/`. */
  readonly out: string;
  readonly runId?: string;
  readonly endpoint: OpenAIEndpoint;
  /** Called after each campaign with episodes done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Run only shard `index` (1-based) of `count`: N machines each run one, and their folders pool in `report`. */
  readonly shard?: { readonly index: number; readonly count: number };
}

/** Whether a campaign belongs to a shard: by its id's hash, so the split does not depend on the matrix's order. */
export const inShard = (campaignId: string, shard: { index: number; count: number }) =>
  Number.parseInt(campaignId.slice(2, 10), 16) % shard.count === shard.index - 1;

export interface RunSummary {
  readonly runId: string;
  readonly dir: string;
  readonly episodes: number;
  readonly errors: number;
  readonly seconds: number;
  readonly episodesPerSecond: number;
}

/** Everything a run needs, resolved and validated before anything is written. */
interface ResolvedRun {
  readonly suites: Suite<unknown>[];
  readonly defenses: DefenseConfiguration[];
  readonly models: ModelHandle[];
  readonly cases: AttackCase[];
  readonly corpus: AttackCase[];
}

function resolve(config: RunConfig, endpoint: OpenAIEndpoint): ResolvedRun {
  const imported = config.injecagent === null ? null : importInjecAgent(config.injecagent);
  const extra = imported ? injecAgentSuite(imported) : null;
  const suiteNamed = (name: string) => (extra && name === extra.name ? extra : getSuite(name));
  const suiteNames = extra && !config.suites.includes(extra.name) ? [...config.suites, extra.name] : config.suites;
  const suites = suiteNames.map(suiteNamed);
  for (const name of config.agents) if (!AGENT_SYSTEMS.has(name)) throw new AgentSystemError(name);
  const defenses = (config.defenses.includes("all") ? configurationNames() : config.defenses).map(loadDefenseConfiguration);
  config.models.forEach(checkModelName);
  const tasks = suites.flatMap((s) => s.tasks);
  const models = config.models.map((name) => resolveModel(name, { tasks, endpoint }));
  const importedCases = imported ? [...imported.cases] : [];
  const problems = importedCases.flatMap((c) => checkAgainstSuite(c, suiteNamed).map((p) => `${c.id}: ${p}`));
  if (problems.length > 0) throw new AttackFileError(config.injecagent!, problems);
  const corpus = [...loadCorpus(), ...importedCases];
  const matches = globMatcher(config.attacks);
  const selected = corpus.filter(
    (c) => matches(c.id) && suiteNames.includes(c.suite) && config.agents.includes(c.agent) && (config.split === null || c.split === config.split),
  );
  const cases = config.sample === null ? selected : sampleCases(selected, config.sample);
  return { suites, defenses, models, cases, corpus };
}

/** A fixed sample: the cases whose id hashes lowest, in corpus order. */
function sampleCases(cases: AttackCase[], size: number): AttackCase[] {
  const keep = new Set(
    cases
      .map((c) => ({ id: c.id, key: hashOf(c.id) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, size)
      .map((c) => c.id),
  );
  return cases.filter((c) => keep.has(c.id));
}

/** The matrix: benign tasks × agent systems, and attack cases on their agent system; × defenses × models × seeds. */
function campaigns(config: RunConfig, run: ResolvedRun): Campaign[] {
  const systems = new Map<string, AgentSystem>();
  const systemFor = (model: ModelHandle, suite: Suite<unknown>, name: string) => {
    const key = `${model.name}|${suite.name}|${name}`;
    let system = systems.get(key);
    if (!system) {
      const tools = [...suite.tools.values()].map((t) => t.schema);
      system = buildAgentSystem(name, { model: model.chat, tools, systemPrompt: suite.systemPrompt });
      systems.set(key, system);
    }
    return system;
  };
  const out: Campaign[] = [];
  for (const model of run.models) {
    for (const defense of run.defenses) {
      for (let seed = 1; seed <= config.seeds; seed++) {
        for (const suite of run.suites) {
          if (config.benign) {
            for (const agent of config.agents) {
              for (const task of suite.tasks) {
                const id = campaignId(suite.name, agent, defense.name, model.name, seed, null, task.id);
                out.push({ id, suite, system: systemFor(model, suite, agent), defense, model, seed, attack: null, tasks: [task] });
              }
            }
          }
          for (const attack of run.cases.filter((c) => c.suite === suite.name)) {
            const tasks = attack.campaign.map((id) => suite.tasks.find((t) => t.id === id)!);
            const id = campaignId(suite.name, attack.agent, defense.name, model.name, seed, attack.id, attack.campaign.join(","));
            out.push({ id, suite, system: systemFor(model, suite, attack.agent), defense, model, seed, attack, tasks });
          }
        }
      }
    }
  }
  return out;
}

/** Runs a matrix and streams its results to `<out>/<run-id>/`. Bad names fail before anything is written. */
export async function executeRun(options: RunOptions): Promise<RunSummary> {
  const { config, endpoint } = options;
  const run = resolve(config, endpoint);
  const shard = options.shard;
  const matrix = campaigns(config, run).filter((c) => !shard || inShard(c.id, shard));
  const total = matrix.reduce((n, c) => n + c.tasks.length, 0);
  const shardSuffix = shard ? `-shard${shard.index}of${shard.count}` : "";
  const runId = options.runId ?? `${new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${config.name}${shardSuffix}`;
  const dir = join(options.out, runId);
  mkdirSync(dir, { recursive: true });

  const manifest = {
    run_id: runId,
    created_at: new Date().toISOString(),
    status: "running",
    git: gitState(),
    config,
    config_hash: hashOf(config),
    defenses: run.defenses.map((d) => ({ name: d.name, file: d.file, layers: d.spec, approver_error_rate: d.approverErrorRate, hash: hashOf(d.spec) })),
    models: run.models.map((m) => ({ name: m.name, kind: m.kind, params: m.params })),
    suites: run.suites.map((s) => ({ name: s.name, version: s.version, tasks: s.tasks.length, hash: hashOf(s.tasks) })),
    corpus: { cases: run.corpus.length, hash: corpusHash(run.corpus), selected: run.cases.length },
    seeds: Array.from({ length: config.seeds }, (_, i) => i + 1),
    packages: packageVersions(),
    planned: { campaigns: matrix.length, episodes: total },
    shard: shard ? `${shard.index}/${shard.count}` : null,
  };
  writeManifest(dir, manifest);

  const writer = await ResultsWriter.open(dir);
  const started = performance.now();
  let done = 0;
  let errors = 0;
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (next < matrix.length && failure === null) {
      const campaign = matrix[next++]!;
      try {
        const result = await runCampaign(campaign, runId);
        await writer.write(result.episodes, result.events);
        done += result.episodes.length;
        errors += result.episodes.filter((e) => e.error !== null).length;
        options.onProgress?.(done, total);
      } catch (error) {
        failure = error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.concurrency, matrix.length) }, worker));
  await writer.close();
  const seconds = (performance.now() - started) / 1000;
  const summary = { runId, dir, episodes: done, errors, seconds, episodesPerSecond: done / Math.max(seconds, 1e-9) };
  writeManifest(dir, {
    ...manifest,
    status: failure === null ? "complete" : "failed",
    failure: failure === null ? undefined : String((failure as Error).message ?? failure),
    finished_at: new Date().toISOString(),
    counts: { episodes: done, errors },
    throughput: { seconds: Math.round(seconds * 1000) / 1000, episodes_per_second: Math.round(summary.episodesPerSecond * 10) / 10, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) },
  });
  if (failure !== null) throw failure;
  return summary;
}
