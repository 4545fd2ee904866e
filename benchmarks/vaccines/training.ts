import { createHash } from "node:crypto";
import { SAVE_MEMORY_TOOL } from "../../agents/reserved-tools.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { SUITES } from "../suites/registry.ts";
import { environmentOf, type Suite } from "../suites/suite.ts";

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

/**
 * The benign "self" corpus: everything untrusted tools return while the benign tasks of the `train` half run by
 * their plans on a clean world — the outside content the agents read on a normal day, which a vaccine must leave
 * alone.
 */
export function selfCorpus(suites: readonly Suite<unknown>[] = [...SUITES.values()]): string[] {
  const texts: string[] = [];
  for (const suite of suites) {
    for (const task of suite.tasks) {
      if (benignHalf(suite.name, task.id) !== "train") continue;
      const world = suite.fixture();
      const env = environmentOf(suite, world);
      for (const step of task.plan) {
        if (step.tool === SAVE_MEMORY_TOOL) continue;
        const output = env.execute(step.tool, step.args);
        if (env.tools.get(step.tool)?.descriptor.source === "untrusted") texts.push(output);
      }
    }
  }
  return texts;
}
