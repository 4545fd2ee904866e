import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SAVE_MEMORY_TOOL } from "../../agents/reserved-tools.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { canonical } from "../../defenses/approver.ts";
import { allow, type Defense } from "../../defenses/types.ts";
import type { Action, TrainingData, Vaccinator } from "../../defenses/vaccines/artifact.ts";
import { squash } from "../../defenses/util/args.ts";
import { proseSentences } from "../../defenses/util/decode.ts";
import { ActionObserver, actionKey } from "../../defenses/vaccines/behaviour.ts";
import { loadCorpus, worldTexts } from "../corpus.ts";
import { runAttackCase, runBenignTask } from "../testing/episodes.ts";
import { SUITES } from "../suites/registry.ts";
import { environmentOf } from "../suites/suite.ts";

/** The texts an attack plants: what a vaccinator may learn from (the attack's metadata stays here). */
export const attackTexts = (c: AttackCase): string[] => [c.injection.text, ...c.injection.also.map((a) => a.text), ...c.carried.map((p) => p.text)];

/**
 * The training texts of a split: each planted text once, in corpus order. Cases derived onto other topologies or
 * into longer campaigns plant the texts of their base cases; they add no example.
 */
export const trainingTexts = (cases: readonly AttackCase[], split: string): string[] => [...new Set(cases.filter((c) => c.split === split).flatMap(attackTexts))];

/**
 * Which half of the benign tasks a task belongs to: vaccines learn "self" from the `train` half only, so their
 * autoimmunity is measured on tasks (and content) they never saw — the `evaluate` half. A fixed hash rule.
 */
export function benignHalf(suite: string, task: string): "train" | "evaluate" {
  return Number.parseInt(createHash("sha256").update(`${suite}/${task}`).digest("hex").slice(0, 2), 16) % 2 === 0 ? "train" : "evaluate";
}

/** The benign tasks of one half, every suite's. */
export const benignTasks = (half: "train" | "evaluate"): { suite: string; task: string }[] =>
  [...SUITES.values()].flatMap((s) => s.tasks.filter((t) => benignHalf(s.name, t.id) === half).map((t) => ({ suite: s.name, task: t.id })));

/**
 * The benign "self" corpus, the content a vaccine must leave alone: everything untrusted tools return while the
 * benign tasks of the `train` half run by their plans on a clean world, and every other sentence of the suites'
 * clean worlds (their mail, files, pages) — except the sentences any task of the `evaluate` half reads, so that
 * autoimmunity is measured on content no vaccine learned as self.
 */
export function selfCorpus(): string[] {
  const heldOut = new Set(selfCorpusOf(benignTasks("evaluate")).flatMap(proseSentences).map(squash));
  const world = [...new Set([...SUITES.keys()].flatMap(worldTexts).flatMap(proseSentences))].filter((x) => !heldOut.has(squash(x)));
  return [...selfCorpusOf(benignTasks("train")), ...world];
}

/** The untrusted content the given benign tasks read when run by their plans on a clean world. */
export function selfCorpusOf(tasks: readonly { readonly suite: string; readonly task: string }[]): string[] {
  const texts: string[] = [];
  for (const { suite: name, task: id } of tasks) {
    const suite = SUITES.get(name)!;
    const task = suite.tasks.find((t) => t.id === id)!;
    const world = suite.fixture();
    const env = environmentOf(suite, world);
    for (const step of task.plan) {
      if (step.tool === SAVE_MEMORY_TOOL) continue;
      const output = env.execute(step.tool, step.args);
      if (env.tools.get(step.tool)?.descriptor.source === "untrusted") texts.push(output);
    }
  }
  return texts;
}

/** A tool call as an action vaccine sees it, with the call itself. */
export interface RecordedCall {
  readonly action: Action;
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** A layer that watches an episode and writes down each tool call as the action vaccines see it (it allows everything). */
export function actionRecorder(calls: RecordedCall[]): Defense {
  return {
    id: "action-recorder",
    layer: "L3",
    version: "1",
    description: "Records tool calls as actions (training only)",
    params: {},
    hooks: {
      onContext(entry, scope) {
        scope.state("action-recorder", () => new ActionObserver()).context(entry, scope);
        return allow;
      },
      onToolCall(call, scope) {
        calls.push({ action: scope.state("action-recorder", () => new ActionObserver()).action(call, scope), tool: call.tool.name, args: call.args });
        return allow;
      },
    },
  };
}

/**
 * Everything a vaccinator may learn from for one split: the planted texts, the benign self texts, and — from
 * episodes run undefended on the obedient model — the actions the split's attacks made the agent take (calls a
 * payload asked for) and the actions of the benign tasks of the `train` half.
 */
export async function trainingData(cases: readonly AttackCase[], split: string): Promise<TrainingData> {
  const attackActions: Action[] = [];
  const seenKeys = new Set<string>();
  for (const c of cases.filter((x) => x.split === split)) {
    const wanted = new Set([c.injection, ...c.carried].flatMap((p) => p.calls.map((call) => `${call.tool}:${canonical(call.args)}`)));
    const calls: RecordedCall[] = [];
    await runAttackCase(c.id, [actionRecorder(calls)]);
    for (const call of calls) {
      if (!wanted.has(`${call.tool}:${canonical(call.args)}`)) continue;
      const key = `${c.id}|${actionKey(call.action)}`;
      if (!seenKeys.has(key)) (seenKeys.add(key), attackActions.push(call.action));
    }
  }
  return { attacks: trainingTexts(cases, split), self: selfCorpus(), attackActions, selfActions: await benignActions(benignTasks("train"), ["single", "supervisor"]) };
}

/** The actions of benign tasks run undefended on the obedient model, on each of the given agent systems. */
export async function benignActions(tasks: readonly { readonly suite: string; readonly task: string }[], agents: readonly string[]): Promise<Action[]> {
  const actions: Action[] = [];
  for (const { suite, task } of tasks) {
    for (const agent of agents) {
      const calls: RecordedCall[] = [];
      await runBenignTask(suite, task, [actionRecorder(calls)], { agent });
      actions.push(...calls.map((c) => c.action));
    }
  }
  return actions;
}

/**
 * Trains each vaccinator on the seen split, as shipped (or at the given operating point, for a vaccinator that has
 * one), and writes its artifact (`artifacts/<id>.json`) and a
 * one-layer configuration using it (`configs/vaccine-<id>.json`) under `dir`; returns the configurations' paths.
 */
export async function writeSeenVaccines(dir: string, vaccinators: readonly Vaccinator[], seed: number, operatingPoint?: number): Promise<string[]> {
  mkdirSync(join(dir, "artifacts"), { recursive: true });
  mkdirSync(join(dir, "configs"), { recursive: true });
  const corpus = loadCorpus();
  // Actions come from running the seen attacks: only a vaccinator that learns from actions needs them.
  const data = vaccinators.some((v) => v.learnsFrom !== "texts") ? await trainingData(corpus, "seen") : { attacks: trainingTexts(corpus, "seen"), self: selfCorpus() };
  return vaccinators.map((vaccinator) => {
    const artifact = join(dir, "artifacts", `${vaccinator.id}.json`);
    writeFileSync(artifact, `${JSON.stringify(vaccinator.train(data, { seed, split: "seen", operatingPoint }))}\n`);
    const config = join(dir, "configs", `vaccine-${vaccinator.id}.json`);
    const layers = [{ use: "vaccine", params: { artifact } }];
    writeFileSync(config, `${JSON.stringify({ name: `vaccine-${vaccinator.id}`, description: `L3 vaccine ${vaccinator.id} trained on seen`, layers }, null, 2)}\n`);
    return config;
  });
}
