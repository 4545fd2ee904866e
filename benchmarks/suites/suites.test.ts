import { describe, expect, it } from "vitest";
import type { MemoryRecord } from "../../agents/environment.ts";
import { SAVE_MEMORY_TOOL } from "../../agents/reserved-tools.ts";
import { loadCorpus } from "../corpus.ts";
import { plant } from "../runner/plant.ts";
import { SUITES } from "./registry.ts";
import { environmentOf, parseTasks, type Suite } from "./suite.ts";

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

describe("benign tasks of the team", () => {
  it("every suite has a colleague's note that a user task reads, from every member of its team", () => {
    for (const suite of suites.filter((s) => s.people.team.length > 0)) {
      const writers = suite.tasks.filter((t) => t.principal !== undefined && suite.tasks.some((u) => u.after === t.id)).map((t) => t.principal);
      expect(new Set(writers), suite.name).toEqual(new Set(suite.people.team));
    }
  });

  it("a task file names only the deployment's people, and a task comes after one task that comes after nothing", () => {
    const workspace = SUITES.get("workspace")!;
    const step = workspace.tasks.find((t) => t.id === "remember-iban")!;
    const parse = (tasks: object[]) => () => parseTasks(tasks, "tasks.json", workspace.predicate, workspace.tools, workspace.people);
    const task = (id: string, extra: object) => ({ id, prompt: "p", plan: step.plan, utility: step.utility, ...extra });
    expect(parse([task("a", { principal: "mallory" })])).toThrow(/unknown principal mallory; valid: emma, bob, carlos/);
    expect(parse([task("a", {}), task("b", { after: "a" }), task("c", { after: "b" })])).toThrow(/b is not a task this one can come after/);
    expect(parse([task("a", {}), task("b", { after: "a" }), task("c", { after: "a" })])).toThrow(/another task already comes after a/);
    expect(parse([task("a", { principal: "bob" }), task("b", { after: "a" })])().map((t) => t.after)).toEqual([undefined, "a"]);
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
