import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { Annotation, END, type LangGraphRunnableConfig, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import type { ToolSchema } from "./environment.ts";
import { DELEGATE_PREFIX, SAVE_MEMORY_TOOL } from "./reserved-tools.ts";
import { type AgentRuntime, type EpisodeRuntime, modelTool } from "./runtime.ts";

/** Who an agent is: its id, base system prompt, the suite tools it may call, and the peers it may delegate to. */
export interface AgentSpec {
  readonly id: string;
  readonly systemPrompt: string;
  readonly tools: readonly ToolSchema[];
  readonly peers?: Readonly<Record<string, { readonly description: string; readonly graph: AgentGraph }>>;
}

/** What the graph's nodes receive as LangGraph context. */
export interface AgentContext {
  readonly episode: EpisodeRuntime;
}

export const AgentState = Annotation.Root({
  ...MessagesAnnotation.spec,
  /** The request that starts the agent: from the user, or from another agent. */
  task: Annotation<{ readonly text: string; readonly from: string }>(),
});
export type AgentStateType = typeof AgentState.State;

export type AgentGraph = ReturnType<typeof buildAgentGraph>;

/** The model call failed (network, server, malformed answer): the episode is an error, never a block. */
export class ModelCallError extends Error {
  readonly code = "model_error";
  constructor(agent: string, cause: unknown) {
    super(`model call of agent ${agent} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ModelCallError";
  }
}

/** Hard limit on graph steps per agent run; hitting it is an episode error, not a block. */
export const RECURSION_LIMIT = 60;

const memoryToolParameters = {
  type: "object",
  properties: { text: { type: "string", description: "What to remember, in one or two sentences" } },
  required: ["text"],
  additionalProperties: false,
};
const delegateParameters = {
  type: "object",
  properties: { instructions: { type: "string", description: "What the peer should do and report back" } },
  required: ["instructions"],
  additionalProperties: false,
};

const textOf = (message: BaseMessage | undefined): string =>
  message === undefined ? "" : typeof message.content === "string" ? message.content : JSON.stringify(message.content);

/**
 * A tool-using agent with long-term memory, as a LangGraph StateGraph:
 *
 *   START → retrieve_memory → agent ⇄ { tools | write_memory | delegate } → … → END
 *
 * `retrieve_memory` checks the request and loads relevant memory; `agent` calls the model; the three action nodes
 * run the model's tool calls of their kind. Every node reaches the outside only through the episode's
 * {@link AgentRuntime}, the defense choke point. Compile once, run many episodes: the runtime arrives as context.
 */
export function buildAgentGraph(model: BaseChatModel, spec: AgentSpec) {
  const peers = spec.peers ?? {};
  const toolNames = spec.tools.map((t) => t.descriptor.name);
  const reserved = [
    modelTool(SAVE_MEMORY_TOOL, "Save a note to your long-term memory for future tasks", memoryToolParameters),
    ...Object.entries(peers).map(([peer, p]) => modelTool(`${DELEGATE_PREFIX}${peer}`, p.description, delegateParameters)),
  ];
  const runtimeOf = (config: LangGraphRunnableConfig): AgentRuntime => {
    const context = config.context as AgentContext | undefined;
    if (!context?.episode) throw new Error("agent graph invoked without an episode runtime in context");
    return context.episode.agent(spec.id, toolNames);
  };
  const pendingCalls = (state: AgentStateType) => (state.messages.at(-1) as AIMessage).tool_calls ?? [];
  let messageSeq = 0;
  const nextId = (kind: string) => `${spec.id}-${kind}-${messageSeq++}`;

  return new StateGraph(AgentState)
    .addNode("retrieve_memory", async (state, config) => {
      const runtime = runtimeOf(config);
      const inbox = async () =>
        (await runtime.inbox()).map((m) => new HumanMessage({ id: nextId("peer"), content: `Message from ${m.from}: ${m.content}` }));
      // A later turn of the same conversation (a group chat): only what arrived since.
      if (state.messages.length > 0) return { messages: await inbox() };
      const { text, from } = state.task;
      const request = from === "user" ? await runtime.userInput(text) : await runtime.receive(from, text);
      const messages: BaseMessage[] = [new SystemMessage({ id: nextId("system"), content: runtime.systemPrompt(spec.systemPrompt) })];
      const memories = await runtime.retrieveMemory(text);
      if (memories.length > 0) {
        const content = `Notes from your long-term memory (saved in earlier sessions):\n${memories.map((m) => `- ${m}`).join("\n")}`;
        messages.push(new SystemMessage({ id: nextId("memory"), content }));
      }
      if (request === null) {
        return { messages: [...messages, new AIMessage({ id: nextId("refused"), content: "The request was refused by the security policy." })] };
      }
      messages.push(new HumanMessage({ id: nextId("task"), content: request }), ...(await inbox()));
      return { messages };
    })
    .addNode("agent", async (state, config) => {
      const runtime = runtimeOf(config);
      const context = config.context as unknown as AgentContext;
      await runtime.boundModel(model, reserved);
      let output: AIMessage;
      try {
        output = await runtime.think(state.messages, { ...context.episode.setup.modelOptions, signal: config.signal });
      } catch (error) {
        throw new ModelCallError(spec.id, error);
      }
      const malformed = output.invalid_tool_calls ?? [];
      if (malformed.length > 0) {
        const what = malformed.map((c) => `${c.name ?? "?"}(${c.args ?? ""}): ${c.error ?? "unparseable"}`).join("; ");
        throw new ModelCallError(spec.id, new Error(`malformed tool call: ${what}`));
      }
      const calls = output.tool_calls ?? [];
      runtime.traceModelOutput(calls.length > 0 ? calls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join("; ") : textOf(output));
      return { messages: [output] };
    })
    .addNode("tools", async (state, config) => {
      const runtime = runtimeOf(config);
      const out: ToolMessage[] = [];
      for (const call of pendingCalls(state)) {
        if (call.name === SAVE_MEMORY_TOOL || call.name.startsWith(DELEGATE_PREFIX)) continue;
        const content = await runtime.callTool(call.id ?? "", call.name, call.args);
        out.push(new ToolMessage({ id: nextId("tool"), tool_call_id: call.id ?? "", name: call.name, content }));
      }
      return { messages: out };
    })
    .addNode("write_memory", async (state, config) => {
      const runtime = runtimeOf(config);
      const out: ToolMessage[] = [];
      for (const call of pendingCalls(state)) {
        if (call.name !== SAVE_MEMORY_TOOL) continue;
        const text = typeof call.args.text === "string" ? call.args.text : JSON.stringify(call.args);
        const content = await runtime.writeMemory(text);
        out.push(new ToolMessage({ id: nextId("memory"), tool_call_id: call.id ?? "", name: call.name, content }));
      }
      return { messages: out };
    })
    .addNode("delegate", async (state, config) => {
      const runtime = runtimeOf(config);
      const out: ToolMessage[] = [];
      for (const call of pendingCalls(state)) {
        if (!call.name.startsWith(DELEGATE_PREFIX)) continue;
        const peer = call.name.slice(DELEGATE_PREFIX.length);
        const content = await handOff(runtime, peer, String(call.args.instructions ?? ""), config);
        out.push(new ToolMessage({ id: nextId("peer"), tool_call_id: call.id ?? "", name: call.name, content }));
      }
      return { messages: out };
    })
    .addEdge(START, "retrieve_memory")
    .addConditionalEdges("retrieve_memory", (state) => (state.messages.at(-1) instanceof AIMessage ? END : "agent"), ["agent", END])
    .addConditionalEdges(
      "agent",
      (state) => {
        const calls = pendingCalls(state);
        if (calls.length === 0) return END;
        const next = new Set<string>();
        for (const call of calls) {
          next.add(call.name === SAVE_MEMORY_TOOL ? "write_memory" : call.name.startsWith(DELEGATE_PREFIX) ? "delegate" : "tools");
        }
        return [...next];
      },
      ["tools", "write_memory", "delegate", END],
    )
    .addEdge("tools", "agent")
    .addEdge("write_memory", "agent")
    .addEdge("delegate", "agent")
    .compile({ name: spec.id });

  /** A handoff by message: send, let the peer run its own graph, receive its reply. */
  async function handOff(runtime: AgentRuntime, peer: string, instructions: string, config: LangGraphRunnableConfig): Promise<string> {
    const target = peers[peer];
    if (!target) return `Error: unknown peer "${peer}". Known peers: ${Object.keys(peers).join(", ")}`;
    const sent = await runtime.send(peer, instructions);
    if ("refused" in sent) return sent.refused;
    const result = await target.graph.invoke(
      { task: { text: sent.content, from: spec.id } },
      { context: config.context, recursionLimit: RECURSION_LIMIT, signal: config.signal },
    );
    const context = config.context as unknown as AgentContext;
    const peerRuntime = context.episode.existingAgent(peer);
    const reply = await peerRuntime.send(spec.id, textOf(result.messages.at(-1)));
    if ("refused" in reply) return reply.refused;
    return runtime.receive(peer, reply.content);
  }
}
