import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { Annotation, Command, END, GraphRecursionError, type LangGraphRunnableConfig, MessagesAnnotation, messagesStateReducer, START, StateGraph } from "@langchain/langgraph/web";
import { MODEL_DECISIONS } from "./models/decisions.ts";
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
  /** Run the same node functions in a plain loop instead of LangGraph: the floor the perf benchmark measures. */
  readonly bare?: boolean;
}

export const AgentState = Annotation.Root({
  ...MessagesAnnotation.spec,
  /** The request that starts the agent: from the user, or from another agent. */
  task: Annotation<{ readonly text: string; readonly from: string }>(),
});
export type AgentStateType = typeof AgentState.State;

export type AgentGraph = ReturnType<typeof buildAgentGraph>;

/** What an agent graph (or a system's graph) is invoked with, and returns. */
export interface AgentInput {
  readonly task: { readonly text: string; readonly from: string };
  readonly messages?: BaseMessage[];
}
type BareRun = (input: AgentInput, config: LangGraphRunnableConfig) => Promise<{ messages: BaseMessage[] }>;
const bareRuns = new WeakMap<object, BareRun>();

/** Registers how to run a graph's node functions without LangGraph (see {@link AgentContext.bare}). */
export function withBareRun<G extends object>(graph: G, run: BareRun): G {
  bareRuns.set(graph, run);
  return graph;
}

/**
 * Invokes an agent or system graph with the episode's context: through LangGraph, or — when the context asks for
 * the bare floor — its registered plain loop. Hand-offs and group-chat turns go through here too.
 */
export async function invokeAgent(graph: AgentGraph, input: AgentInput, config: LangGraphRunnableConfig): Promise<{ messages: BaseMessage[] }> {
  const bare = (config.context as AgentContext | undefined)?.bare ? bareRuns.get(graph) : undefined;
  if (bare) return bare(input, config);
  return graph.invoke(input, { context: config.context, recursionLimit: RECURSION_LIMIT, signal: config.signal });
}

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

/** Arguments of the runtime's own tools, as the model is offered them (and as attack cases' calls name them). */
export const memoryToolParameters = {
  type: "object",
  properties: { text: { type: "string", description: "What to remember, in one or two sentences" } },
  required: ["text"],
  additionalProperties: false,
};
export const delegateParameters = {
  type: "object",
  properties: { instructions: { type: "string", description: "What the peer should do and report back" } },
  required: ["instructions"],
  additionalProperties: false,
};

const REFUSED = "The request was refused by the security policy.";

const textOf = (message: BaseMessage | undefined): string =>
  message === undefined ? "" : typeof message.content === "string" ? message.content : JSON.stringify(message.content);

/**
 * A tool-using agent with long-term memory, as a LangGraph StateGraph of two nodes, the shape of a ReAct agent:
 *
 *   START → agent ⇄ act → … → END
 *
 * `agent` opens the conversation on its first step (checks the request, loads relevant memory, reads the inbox)
 * and calls the model; it routes itself with a `Command` (to `act` when the model called tools, else to the end),
 * so no separate routing step runs. `act` runs the calls in order — suite tools, memory writes, hand-offs to peers.
 * Every node reaches the outside only through the episode's {@link AgentRuntime}, the defense choke point.
 * Compile once, run many episodes: the runtime arrives as context.
 */
export function buildAgentGraph(model: BaseChatModel, spec: AgentSpec) {
  const peers = spec.peers ?? {};
  const toolNames = spec.tools.map((t) => t.descriptor.name);
  const reserved = [
    modelTool(SAVE_MEMORY_TOOL, "Save a note to your long-term memory for future tasks", memoryToolParameters),
    ...Object.entries(peers).map(([peer, p]) => modelTool(`${DELEGATE_PREFIX}${peer}`, p.description, delegateParameters)),
  ];
  const runtimeOf = (config: LangGraphRunnableConfig): Promise<AgentRuntime> => {
    const context = config.context as AgentContext | undefined;
    if (!context?.episode) throw new Error("agent graph invoked without an episode runtime in context");
    return context.episode.agent(spec.id, toolNames);
  };
  let messageSeq = 0;
  const nextId = (kind: string) => `${spec.id}-${kind}-${messageSeq++}`;

  /** What the agent sees before its first model call: the request checked, relevant memory, its inbox. */
  async function opening(runtime: AgentRuntime, state: AgentStateType): Promise<BaseMessage[]> {
    const inbox = async () =>
      (await runtime.inbox()).map((m) => new HumanMessage({ id: nextId("peer"), content: `Message from ${m.from}: ${m.content}` }));
    // A later turn of the same conversation (a group chat): only what arrived since.
    if (state.messages.length > 0) return inbox();
    const { text, from } = state.task;
    const request = from === "user" ? await runtime.userInput(text) : await runtime.receive(from, text);
    const messages: BaseMessage[] = [new SystemMessage({ id: nextId("system"), content: await runtime.systemPrompt(spec.systemPrompt) })];
    const memories = await runtime.retrieveMemory(text);
    if (memories.length > 0) {
      const content = `Notes from your long-term memory (saved in earlier sessions):\n${memories.map((m) => `- ${m}`).join("\n")}`;
      messages.push(new SystemMessage({ id: nextId("memory"), content }));
    }
    if (request === null) return [...messages, new AIMessage({ id: nextId("refused"), content: REFUSED })];
    messages.push(new HumanMessage({ id: nextId("task"), content: request }), ...(await inbox()));
    return messages;
  }

  const agentNode = async (state: AgentStateType, config: LangGraphRunnableConfig) => {
    const runtime = await runtimeOf(config);
    const opened = state.messages.at(-1) instanceof ToolMessage ? [] : await opening(runtime, state);
    // Refused, or a later turn with nothing new to answer: the conversation ends on the agent's last word.
    if ((opened.at(-1) ?? state.messages.at(-1)) instanceof AIMessage) return new Command({ update: { messages: opened }, goto: END });
    const context = config.context as unknown as AgentContext;
    await runtime.boundModel(model, reserved);
    let output: AIMessage;
    try {
      output = await runtime.think(opened.length > 0 ? [...state.messages, ...opened] : state.messages, { ...context.episode.setup.modelOptions, signal: config.signal });
    } catch (error) {
      throw new ModelCallError(spec.id, error);
    }
    const malformed = output.invalid_tool_calls ?? [];
    if (malformed.length > 0) {
      const what = malformed.map((c) => `${c.name ?? "?"}(${c.args ?? ""}): ${c.error ?? "unparseable"}`).join("; ");
      throw new ModelCallError(spec.id, new Error(`malformed tool call: ${what}`));
    }
    const calls = output.tool_calls ?? [];
    runtime.traceModelDecisions(output.response_metadata?.[MODEL_DECISIONS]);
    runtime.traceModelOutput(calls.length > 0 ? calls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join("; ") : textOf(output));
    return new Command({ update: { messages: [...opened, output] }, goto: calls.length > 0 ? "act" : END });
  };

  const actNode = async (state: AgentStateType, config: LangGraphRunnableConfig) => {
    const runtime = await runtimeOf(config);
    const out: ToolMessage[] = [];
    for (const call of (state.messages.at(-1) as AIMessage).tool_calls ?? []) {
      const id = call.id ?? "";
      let content: string;
      if (call.name === SAVE_MEMORY_TOOL) content = await runtime.writeMemory(typeof call.args.text === "string" ? call.args.text : JSON.stringify(call.args));
      else if (call.name.startsWith(DELEGATE_PREFIX)) content = await handOff(runtime, call.name.slice(DELEGATE_PREFIX.length), String(call.args.instructions ?? ""), config);
      else content = await runtime.callTool(id, call.name, call.args);
      out.push(new ToolMessage({ id: nextId("tool"), tool_call_id: id, name: call.name, content }));
    }
    return { messages: out };
  };

  const graph = new StateGraph(AgentState)
    .addNode("agent", agentNode, { ends: ["act", END] })
    .addNode("act", actNode)
    .addEdge(START, "agent")
    .addEdge("act", "agent")
    .compile({ name: spec.id });

  /** The same two nodes in a plain loop, with LangGraph's message reducer and step limit. */
  const bare: BareRun = async (input, config) => {
    let state: AgentStateType = { messages: messagesStateReducer([], input.messages ?? []), task: input.task };
    for (let steps = 1; ; steps += 2) {
      if (steps > RECURSION_LIMIT) throw new GraphRecursionError(`Recursion limit of ${RECURSION_LIMIT} reached without hitting a stop condition.`);
      const command = await agentNode(state, config);
      state = { ...state, messages: messagesStateReducer(state.messages, (command.update as { messages: BaseMessage[] }).messages) };
      if ([command.goto].flat().includes(END)) return state;
      state = { ...state, messages: messagesStateReducer(state.messages, (await actNode(state, config)).messages) };
    }
  };
  return withBareRun(graph, bare);

  /** A handoff by message: send, let the peer run its own graph, receive its reply. */
  async function handOff(runtime: AgentRuntime, peer: string, instructions: string, config: LangGraphRunnableConfig): Promise<string> {
    const target = peers[peer];
    if (!target) return `Error: unknown peer "${peer}". Known peers: ${Object.keys(peers).join(", ")}`;
    const sent = await runtime.send(peer, instructions);
    if ("refused" in sent) return sent.refused;
    const result = await invokeAgent(target.graph, { task: { text: sent.content, from: spec.id } }, config);
    const context = config.context as unknown as AgentContext;
    const peerRuntime = context.episode.existingAgent(peer);
    const reply = await peerRuntime.send(spec.id, textOf(result.messages.at(-1)));
    if ("refused" in reply) return reply.refused;
    return runtime.receive(peer, reply.content);
  }
}
