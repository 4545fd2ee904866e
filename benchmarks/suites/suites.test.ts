import { describe, expect, it } from "vitest";
import type { MemoryRecord } from "../../agents/environment.ts";
import { SAVE_MEMORY_TOOL } from "../../agents/reserved-tools.ts";
import { loadCorpus } from "../corpus.ts";
import { plant } from "../runner/plant.ts";
import { SUITES } from "./registry.ts";
import { environmentOf, type Suite } from "./suite.ts";

/** Runs a plan directly on a world, as the ground truth says; memory writes land as trusted user notes. */
function runPlan(suite: Suite<unknown>, world: unknown, plan: readonly { tool: string; args: Record<string, unknown> }[]) {
  const env = environmentOf(suite, world);
  plan.forEach((step, i) => {
    if (step.tool === SAVE_MEMORY_TOOL) {
      suite.memory(world).push({ id: `m${i}`, text: String(step.args.text), zone: "assistant", provenance: { source: "user", trust: "trusted", agent: "assistant" }, status: "active", episode: "plan" });
    } else env.execute(step.tool, step.args);
  });
}

const suites = [...SUITES.values()] as Suite<unknown>[];

describe.each(suites.map((s) => [s.name, s] as const))("suite %s", (_name, suite) => {
  it("has at least 12 tools and 15 tasks, hard negatives among them, each tool labelled", () => {
    expect(suite.tools.size).toBeGreaterThanOrEqual(12);
    expect(suite.tasks.length).toBeGreaterThanOrEqual(15);
    expect(suite.tasks.filter((t) => t.hard_negative).length).toBeGreaterThanOrEqual(3);
    for (const tool of suite.tools.values()) {
      expect(["read", "write", "external_sink", "destructive", "privileged"]).toContain(tool.schema.descriptor.sensitivity);
      expect(["trusted", "untrusted"]).toContain(tool.schema.descriptor.source);
    }
  });

  it.each(suite.tasks.map((t) => [t.id, t] as const))("task %s: its plan satisfies its utility, and doing nothing does not", (_id, task) => {
    const before = suite.fixture();
    const after = structuredClone(before);
    expect(suite.evaluate(task.utility, before, after)).toBe(false);
    runPlan(suite, after, task.plan);
    expect(suite.evaluate(task.utility, before, after)).toBe(true);
  });
});

describe("the benign corpus", () => {
  it("has at least 60 tasks and 20 hard negatives over at least three suites", () => {
    const tasks = suites.flatMap((s) => s.tasks);
    expect(suites.length).toBeGreaterThanOrEqual(3);
    expect(tasks.length).toBeGreaterThanOrEqual(60);
    expect(tasks.filter((t) => t.hard_negative).length).toBeGreaterThanOrEqual(20);
  });
});

describe("attack cases keep their user tasks solvable", () => {
  const cases = loadCorpus();
  it.each(cases.map((c) => [c.id, c] as const))("%s", (_id, attack) => {
    const suite = SUITES.get(attack.suite)! as Suite<unknown>;
    let memory: MemoryRecord[] = [];
    attack.campaign.forEach((taskId, pos) => {
      const task = suite.tasks.find((t) => t.id === taskId)!;
      const before = suite.fixture();
      suite.memory(before).push(...memory);
      if (pos === 0) plant(suite, before, attack);
      const after = structuredClone(before);
      runPlan(suite, after, task.plan);
      expect(suite.evaluate(task.utility, before, after)).toBe(true);
      expect(suite.evaluate(attack.goal.predicate, before, after)).toBe(false);
      memory = suite.memory(after);
    });
  });
});
