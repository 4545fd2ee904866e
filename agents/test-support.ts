import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import { z } from "zod";
import { type ExpectedAction, SimulatedApprover } from "../defenses/approver.ts";
import { DefenseStack } from "../defenses/stack.ts";
import type { Defense } from "../defenses/types.ts";
import { defineTool, type Environment, type MemoryRecord } from "./environment.ts";
import { EpisodeRuntime, type TraceEvent } from "./runtime.ts";
import { buildAgentSystem } from "./systems.ts";

/** A small world for the agents' own tests: agents know nothing of the benchmark's suites. */
export interface World {
  page: string;
  notes: string[];
  outbox: string[];
  memory: MemoryRecord[];
}
export const TOOLS = [
  defineTool<z.ZodType<{ url: string }>, World>({
    name: "browse",
    description: "Fetch a page",
    sensitivity: "read",
    source: "untrusted",
    args: z.strictObject({ url: z.string() }),
    run: (w) => w.page,
  }),
  defineTool<z.ZodType<{ text: string }>, World>({
    name: "write_note",
    description: "Write a note",
    sensitivity: "write",
    source: "trusted",
    args: z.strictObject({ text: z.string() }),
    run: (w, { text }) => (w.notes.push(text), "ok"),
  }),
  defineTool<z.ZodType<{ to: string }>, World>({
    name: "send_email",
    description: "Send mail",
    sensitivity: "external_sink",
    source: "trusted",
    destinationArgs: ["to"],
    args: z.strictObject({ to: z.string() }),
    run: (w, { to }) => (w.outbox.push(to), "sent"),
  }),
];

/** Runs one episode of an agent system on the small world, with real LangGraph graphs and a real defense stack. */
export async function runEpisode(options: {
  model: BaseChatModel;
  prompt: string;
  expected?: readonly ExpectedAction[];
  system?: string;
  layers?: Defense[];
  page?: string;
  memory?: MemoryRecord[];
  modelOptions?: Record<string, unknown>;
}) {
  const world: World = { page: options.page ?? "A page about agents.", notes: [], outbox: [], memory: options.memory ?? [] };
  const environment: Environment = {
    tools: new Map(TOOLS.map((t) => [t.schema.descriptor.name, t.schema])),
    memory: world.memory,
    execute: (name, args) => TOOLS.find((t) => t.schema.descriptor.name === name)!.invoke(world, args),
  };
  const system = buildAgentSystem(options.system ?? "single", { model: options.model, tools: TOOLS.map((t) => t.schema), systemPrompt: "You help Emma." });
  const stack = new DefenseStack(options.layers ?? [], new SimulatedApprover(options.expected ?? []), { episodeId: "ep", userPrompt: options.prompt });
  const trace: TraceEvent[] = [];
  const runtime = new EpisodeRuntime({ episodeId: "ep", userPrompt: options.prompt, environment, stack, trace: (e) => trace.push(e), modelOptions: options.modelOptions ?? {} });
  const state = await system.graph.invoke({ task: { text: options.prompt, from: "user" } }, { context: { episode: runtime }, recursionLimit: 60 });
  return { world, stack, trace, messages: state.messages as BaseMessage[], runtime };
}
