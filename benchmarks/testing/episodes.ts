import { type ModelHandle, resolveModel } from "../../agents/models/registry.ts";
import { type AgentSystem, buildAgentSystem } from "../../agents/systems.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { IDEAL_APPROVER } from "../../defenses/approver.ts";
import type { Defense } from "../../defenses/types.ts";
import { loadCorpus } from "../corpus.ts";
import { type CampaignResult, campaignId, runCampaign } from "../runner/episode.ts";
import { getSuite, SUITES } from "../suites/registry.ts";
import { benignCampaign, type Suite } from "../suites/suite.ts";

/**
 * Runs single campaigns with real agents, suites and a given defense stack: how tests show that a layer stops an
 * attack case or lets a benign task through, and how vaccine training records what attacks made an agent do.
 * Not for measuring: runs go through `executeRun`.
 */
const models = new Map<string, ModelHandle>();
const systems = new Map<string, AgentSystem>();
// Loaded on first use: a bad attack file must not break every command that imports this module.
let corpusById: Map<string, AttackCase> | undefined;
const corpus = () => (corpusById ??= new Map(loadCorpus().map((c) => [c.id, c])));

function model(name: string): ModelHandle {
  let handle = models.get(name);
  if (!handle) {
    handle = resolveModel(name, { tasks: [...SUITES.values()].flatMap((s) => s.tasks), endpoint: {} });
    models.set(name, handle);
  }
  return handle;
}

function system(handle: ModelHandle, suite: Suite<unknown>, agent: string): AgentSystem {
  const key = `${handle.name}|${suite.name}|${agent}`;
  let built = systems.get(key);
  if (!built) {
    built = buildAgentSystem(agent, { model: handle.chat, tools: [...suite.tools.values()].map((t) => t.schema), systemPrompt: suite.systemPrompt });
    systems.set(key, built);
  }
  return built;
}

/** Tests check what layers do, so their approver is the ideal one: it never errs. */
const configuration = (layers: readonly Defense[]) => ({ name: "test", description: "test", file: "", layers, approver: IDEAL_APPROVER, trainedOn: [], spec: [] });

export interface Outcome extends CampaignResult {
  /** The goal held after some episode. */
  readonly attackSucceeded: boolean;
  /** Every episode's user task succeeded. */
  readonly utility: boolean;
  readonly interventions: number;
  /** Interventions that cost something (stops, quarantines, approval requests, rewrites that removed information). */
  readonly alarms: number;
  /** Rewrites that kept all the information. */
  readonly rewrites: number;
  readonly approvals: number;
}

function outcome(result: CampaignResult): Outcome {
  return {
    ...result,
    attackSucceeded: result.episodes.some((e) => e.attack_success === true),
    utility: result.episodes.every((e) => e.utility),
    interventions: result.episodes.reduce((n, e) => n + e.interventions, 0),
    alarms: result.episodes.reduce((n, e) => n + e.alarms, 0),
    rewrites: result.episodes.reduce((n, e) => n + e.rewrites, 0),
    approvals: result.episodes.reduce((n, e) => n + e.approvals, 0),
  };
}

/** The id of the first corpus case (in corpus order) that fits: tests name cases by what they are, not by id. */
export function findCase(fits: (c: AttackCase) => boolean, what: string): string {
  for (const c of corpus().values()) if (fits(c)) return c.id;
  throw new Error(`no attack case is ${what}`);
}

export async function runAttackCase(id: string, layers: readonly Defense[], options: { model?: string; seed?: number } = {}): Promise<Outcome> {
  const attack = corpus().get(id);
  if (!attack) throw new Error(`no attack case ${id}`);
  return runCase(attack, layers, options);
}

/** Runs any attack case, one of the corpus or one made up on the way (an adaptive attacker's variant). */
export async function runCase(attack: AttackCase, layers: readonly Defense[], options: { model?: string; seed?: number } = {}): Promise<Outcome> {
  const id = attack.id;
  const suite = getSuite(attack.suite);
  const handle = model(options.model ?? "sim:obedient");
  const tasks = attack.campaign.map((t) => suite.tasks.find((x) => x.id === t)!);
  const seed = options.seed ?? 1;
  const result = await runCampaign(
    { id: campaignId(suite.name, attack.agent, "test", handle.name, seed, id, ""), suite, system: system(handle, suite, attack.agent), defense: configuration(layers), model: handle, seed, attack, tasks },
    "test",
  );
  if (result.episodes.some((e) => e.error)) throw new Error(`episode error: ${result.episodes.map((e) => e.error_message).join("; ")}`);
  return outcome(result);
}

export async function runBenignTask(suiteName: string, taskId: string, layers: readonly Defense[], options: { agent?: string; model?: string } = {}): Promise<Outcome> {
  const suite = getSuite(suiteName);
  const task = suite.tasks.find((t) => t.id === taskId);
  if (!task) throw new Error(`no task ${taskId} in ${suiteName}`);
  const handle = model(options.model ?? "sim:obedient");
  const agent = options.agent ?? "single";
  const result = await runCampaign(
    { id: campaignId(suite.name, agent, "test", handle.name, 1, null, taskId), suite, system: system(handle, suite, agent), defense: configuration(layers), model: handle, seed: 1, attack: null, tasks: benignCampaign(suite, task) },
    "test",
  );
  if (result.episodes.some((e) => e.error)) throw new Error(`episode error: ${result.episodes.map((e) => e.error_message).join("; ")}`);
  return outcome(result);
}
