import type { OpenAIEndpoint } from "../../agents/models/openai.ts";
import { loadPrices } from "../../agents/models/prices.ts";
import { checkModelName, type ModelHandle, resolveModel } from "../../agents/models/registry.ts";
import { type AgentSystem, buildAgentSystem, AGENT_SYSTEMS, AgentSystemError } from "../../agents/systems.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { configurationNames, type DefenseConfiguration, loadDefenseConfiguration } from "../../defenses/config.ts";
import { importInjecAgent } from "../../attacks/importers/injecagent.ts";
import { AttackFileError } from "../../attacks/load.ts";
import { checkAgainstSuite, loadCorpus, loadExtraCases } from "../corpus.ts";
import { injecAgentSuite } from "../suites/injecagent/index.ts";
import { extendSuites } from "../suites/extend.ts";
import { getSuite, SUITES } from "../suites/registry.ts";
import { benignCampaign, type Suite } from "../suites/suite.ts";
import { globMatcher, type RunConfig } from "./config.ts";
import { type Campaign, campaignId } from "./episode.ts";
import { hashOf } from "./manifest.ts";

export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Whether a campaign belongs to a shard: by its id's hash, so the split does not depend on the matrix's order. */
export const inShard = (campaignId: string, shard: Shard) => Number.parseInt(campaignId.slice(2, 10), 16) % shard.count === shard.index - 1;

/** Everything a run needs, resolved and validated before anything is written. */
export interface ResolvedRun {
  readonly suites: Suite<unknown>[];
  readonly defenses: DefenseConfiguration[];
  readonly models: ModelHandle[];
  readonly cases: AttackCase[];
  readonly corpus: AttackCase[];
}

export function resolveRun(config: RunConfig, endpoint: OpenAIEndpoint): ResolvedRun {
  const imported = config.injecagent === null ? null : importInjecAgent(config.injecagent, config.injecagent_setting);
  const extra = imported ? injecAgentSuite(imported) : null;
  // Benign tasks from outside the repository extend the shipped suites they name.
  const extended = config.tasks.length > 0 ? extendSuites(config.tasks) : new Map<string, Suite<unknown>>();
  const suiteNamed = (name: string) => (extra && name === extra.name ? extra : (extended.get(name) ?? getSuite(name)));
  const suiteNames = extra && !config.suites.includes(extra.name) ? [...config.suites, extra.name] : config.suites;
  const suites = suiteNames.map(suiteNamed);
  for (const name of config.agents) if (!AGENT_SYSTEMS.has(name)) throw new AgentSystemError(name);
  const defenses = (config.defenses.includes("all") ? configurationNames() : config.defenses).map(loadDefenseConfiguration);
  config.models.forEach(checkModelName);
  const tasks = suites.flatMap((s) => s.tasks);
  const prices = loadPrices(config.prices ?? undefined);
  const models = config.models.map((name) => resolveModel(name, { tasks, endpoint, prices }));
  const importedCases = imported ? [...imported.cases] : [];
  const problems = importedCases.flatMap((c) => checkAgainstSuite(c, suiteNamed).map((p) => `${c.id}: ${p}`));
  if (problems.length > 0) throw new AttackFileError(config.injecagent!, problems);
  const shipped = [...loadCorpus(), ...importedCases];
  // Outside cases and families join the corpus: its hash in the manifest changes, so pooling sees the difference.
  const outside = loadExtraCases({ cases: config.cases, families: config.families }, shipped);
  const corpus = [...shipped, ...outside];
  const matches = globMatcher(config.attacks);
  const selected = (config.only_outside ? outside : corpus).filter(
    (c) => matches(c.id) && suiteNames.includes(c.suite) && config.agents.includes(c.agent) && (config.split === null || c.split === config.split),
  );
  const cases = config.sample === null ? selected : sampleCases(selected, config.sample);
  return { suites, defenses, models, cases, corpus };
}

/** Whether a task is one of its suite's own (not added from outside the repository). */
const shippedTask = (suite: string, task: string) => SUITES.get(suite)?.tasks.some((t) => t.id === task) ?? true;

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

/**
 * The matrix: benign tasks × agent systems, and attack cases on their agent system; × defenses × models × seeds;
 * only the shard's campaigns when sharded. Deterministic: every worker thread builds the same list.
 */
export function buildMatrix(config: RunConfig, run: ResolvedRun, shard?: Shard): Campaign[] {
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
  const outsideTasks = new Set(run.suites.flatMap((s) => s.tasks.filter((t) => !shippedTask(s.name, t.id)).map((t) => `${s.name}|${t.id}`)));
  const benignTask = (suite: string, task: string) => !config.only_outside || outsideTasks.size === 0 || outsideTasks.has(`${suite}|${task}`);
  for (const model of run.models) {
    for (const defense of run.defenses) {
      for (let seed = 1; seed <= config.seeds; seed++) {
        for (const suite of run.suites) {
          if (config.benign) {
            for (const agent of config.agents) {
              for (const task of suite.tasks) {
                // A task another comes after runs first in that one's campaign, not again on its own.
                if (suite.tasks.some((t) => t.after === task.id) || !benignTask(suite.name, task.id)) continue;
                const tasks = benignCampaign(suite, task);
                const id = campaignId(suite.name, agent, defense.name, model.name, seed, null, tasks.map((t) => t.id).join(","));
                out.push({ id, suite, system: systemFor(model, suite, agent), defense, model, seed, attack: null, tasks });
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
  return shard ? out.filter((c) => inShard(c.id, shard)) : out;
}
