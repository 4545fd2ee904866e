import { describe, expect, it } from "vitest";
import { resolveModel } from "../agents/models/registry.ts";
import { buildAgentSystem } from "../agents/systems.ts";
import { runBenignTask } from "./testing/episodes.ts";
import { SUITES } from "./suites/registry.ts";

/**
 * The multi-agent topologies on the real suites: every benign task still succeeds, every tool is called by an agent
 * that holds it, and work travels the topology's edges — reads by the worker whose delegation tool names them
 * (`team`), planner → executor → reviewer (`pipeline`), turns broadcast to every member (`groupchat`).
 */
const suites = [...SUITES.values()];
const model = resolveModel("sim:obedient", { tasks: [], endpoint: {} }).chat;
const systemOf = (name: string, suite: (typeof suites)[number]) =>
  buildAgentSystem(name, { model, tools: [...suite.tools.values()].map((t) => t.schema), systemPrompt: "" });

describe.each(suites.map((s) => [s.name, s] as const))("topologies on %s", (_name, suite) => {
  it("team deals the read tools to three workers and keeps every acting tool with the supervisor", () => {
    const team = systemOf("team", suite);
    expect(team.agents.map((a) => a.id)).toEqual(["supervisor", "worker-1", "worker-2", "worker-3"]);
    const holder = new Map(team.agents.flatMap((a) => a.tools.map((t) => [t, a.id] as const)));
    for (const [name, tool] of suite.tools) expect(holder.get(name)).toEqual(tool.schema.descriptor.sensitivity === "read" ? expect.stringMatching(/^worker-/) : "supervisor");
  });

  it("pipeline gives the planner and the reviewer the read tools and the executor the acting ones", () => {
    const agents = new Map(systemOf("pipeline", suite).agents.map((a) => [a.id, new Set(a.tools)]));
    expect([...agents.keys()]).toEqual(["planner", "executor", "reviewer"]);
    for (const [name, tool] of suite.tools) {
      const read = tool.schema.descriptor.sensitivity === "read";
      expect([agents.get("planner")!.has(name), agents.get("executor")!.has(name), agents.get("reviewer")!.has(name)]).toEqual([read, !read, read]);
    }
  });

  it("groupchat deals every tool to three members, so each can read and act", () => {
    const chat = systemOf("groupchat", suite);
    expect(chat.agents.map((a) => a.id)).toEqual(["chat-1", "chat-2", "chat-3"]);
    expect(chat.protocol).toBe("broadcast");
    expect(chat.agents.flatMap((a) => a.tools).sort()).toEqual([...suite.tools.keys()].sort());
  });

  describe.each(["team", "pipeline", "groupchat"])("%s", (topology) => {
    const tools = new Map(systemOf(topology, suite).agents.map((a) => [a.id, new Set(a.tools)]));
    it.each(suite.tasks.map((t) => [t.id] as const))("task %s succeeds, each call made by an agent that holds the tool", async (taskId) => {
      const outcome = await runBenignTask(suite.name, taskId, [], { agent: topology });
      expect(outcome.utility).toBe(true);
      for (const call of outcome.events.filter((e) => e.kind === "tool_call")) expect(tools.get(call.agent)?.has(call.tool!), `${call.agent} ${call.tool}`).toBe(true);
      if (topology === "pipeline") {
        const speakers = outcome.events.filter((e) => e.kind === "agent_message" && e.source?.startsWith("agent:")).map((e) => e.source);
        if (suite.tasks.find((t) => t.id === taskId)!.plan.some((s) => tools.get("executor")!.has(s.tool))) {
          expect(speakers.slice(0, 2)).toEqual(["agent:planner", "agent:executor"]);
        }
      }
    });
  });
});
