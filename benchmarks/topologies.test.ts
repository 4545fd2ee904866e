import { describe, expect, it } from "vitest";
import { resolveModel } from "../agents/models/registry.ts";
import { buildAgentSystem } from "../agents/systems.ts";
import { runBenignTask } from "./testing/episodes.ts";
import { SUITES } from "./suites/registry.ts";

/**
 * The `team` topology (a supervisor and three workers) on the real suites: every benign task still succeeds, and
 * each tool is called by the one agent that holds it — reads by the worker whose delegation tool names it.
 */
const suites = [...SUITES.values()];
const model = resolveModel("sim:obedient", { tasks: [], endpoint: {} }).chat;

describe.each(suites.map((s) => [s.name, s] as const))("team topology on %s", (_name, suite) => {
  const system = buildAgentSystem("team", { model, tools: [...suite.tools.values()].map((t) => t.schema), systemPrompt: "" });
  const holder = new Map(system.agents.flatMap((a) => a.tools.map((t) => [t, a.id] as const)));

  it("deals the read tools to three workers and keeps every acting tool with the supervisor", () => {
    expect(system.agents.map((a) => a.id)).toEqual(["supervisor", "worker-1", "worker-2", "worker-3"]);
    for (const [name, tool] of suite.tools) expect(holder.get(name)).toEqual(tool.schema.descriptor.sensitivity === "read" ? expect.stringMatching(/^worker-/) : "supervisor");
  });

  it.each(suite.tasks.map((t) => [t.id] as const))("task %s succeeds, each call made by the agent that holds the tool", async (taskId) => {
    const outcome = await runBenignTask(suite.name, taskId, [], { agent: "team" });
    expect(outcome.utility).toBe(true);
    const calls = outcome.events.filter((e) => e.kind === "tool_call");
    for (const call of calls) expect(call.agent, call.tool ?? "").toBe(holder.get(call.tool!));
  });
});
