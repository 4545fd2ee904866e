import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { ToolSchema } from "./environment.ts";
import { type AgentGraph, buildAgentGraph } from "./graph.ts";

/** A compiled agent system: the graph the runner invokes with the user's request. */
export interface AgentSystem {
  readonly name: string;
  /** The agent that receives the user's request. */
  readonly entry: string;
  readonly graph: AgentGraph;
  /** Each agent's id and the suite tools it may call. */
  readonly agents: readonly { readonly id: string; readonly tools: readonly string[] }[];
}

export interface SystemInput {
  readonly model: BaseChatModel;
  readonly tools: readonly ToolSchema[];
  readonly systemPrompt: string;
}

const WORKER_PROMPT =
  "You are a research worker agent. Your supervisor delegates tasks to you. Use your read-only tools to gather what the task needs, then report what you found.";
const SUPERVISOR_PROMPT =
  "You coordinate a worker agent that can read mail, files, the bank statement, the calendar, contacts and the web. Delegate reading to it, then act with your own tools.";

/** A single tool-using agent with every tool of the suite and its own memory. */
function single({ model, tools, systemPrompt }: SystemInput): AgentSystem {
  const spec = { id: "assistant", systemPrompt, tools };
  return {
    name: "single",
    entry: spec.id,
    graph: buildAgentGraph(model, spec),
    agents: [{ id: spec.id, tools: tools.map((t) => t.descriptor.name) }],
  };
}

/**
 * A supervisor and one worker, handing off by message. The worker holds the read tools (it reads what outsiders
 * wrote); the supervisor holds every tool that writes, pays, sends or deletes, and sees the outside world only
 * through the worker's reports.
 */
function supervisor({ model, tools, systemPrompt }: SystemInput): AgentSystem {
  const readTools = tools.filter((t) => t.descriptor.sensitivity === "read");
  const actTools = tools.filter((t) => t.descriptor.sensitivity !== "read");
  const worker = { id: "worker", systemPrompt: `${systemPrompt}\n\n${WORKER_PROMPT}`, tools: readTools };
  const workerGraph = buildAgentGraph(model, worker);
  const boss = {
    id: "supervisor",
    systemPrompt: `${systemPrompt}\n\n${SUPERVISOR_PROMPT}`,
    tools: actTools,
    peers: { worker: { description: "Delegate a reading task to the worker agent; it replies with what it found", graph: workerGraph } },
  };
  return {
    name: "supervisor",
    entry: boss.id,
    graph: buildAgentGraph(model, boss),
    agents: [
      { id: boss.id, tools: actTools.map((t) => t.descriptor.name) },
      { id: worker.id, tools: readTools.map((t) => t.descriptor.name) },
    ],
  };
}

export const AGENT_SYSTEMS: ReadonlyMap<string, (input: SystemInput) => AgentSystem> = new Map([
  ["single", single],
  ["supervisor", supervisor],
]);

/** An unknown agent-system name. CLI exit code 2. */
export class AgentSystemError extends Error {
  readonly code = "bad_input";
  constructor(name: string) {
    super(`unknown agent system "${name}". Valid agent systems: ${[...AGENT_SYSTEMS.keys()].join(", ")}`);
    this.name = "AgentSystemError";
  }
}

export function buildAgentSystem(name: string, input: SystemInput): AgentSystem {
  const build = AGENT_SYSTEMS.get(name);
  if (!build) throw new AgentSystemError(name);
  return build(input);
}
