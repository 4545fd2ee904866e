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
 * The benign "self" corpus: everything untrusted tools return while every benign task runs by its plan on a clean
 * world — the outside content the agents read on a normal day, which a vaccine must leave alone.
 */
export function selfCorpus(suites: readonly Suite<unknown>[] = [...SUITES.values()]): string[] {
  const texts: string[] = [];
  for (const suite of suites) {
    for (const task of suite.tasks) {
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
