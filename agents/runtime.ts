import { createHash } from "node:crypto";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { type AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import type { Runnable } from "@langchain/core/runnables";
import type { ModelDecision } from "./models/decisions.ts";
import type { DefenseStack, StackOutcome } from "../defenses/stack.ts";
import type { ContextKind, HookScope, ProposedCall, Provenance, ToolDescriptor, Trust } from "../defenses/types.ts";
import { type Environment, ToolArgumentError } from "./environment.ts";
import { retrieveMemory } from "./memory.ts";
import { CACHE_HIT } from "./models/cache.ts";

/** Kinds of trace events the runtime writes. Interventions are written by the runner from the audit log. */
export type TraceKind =
  | "user_input"
  | "memory_read"
  | "model_output"
  | "tool_call"
  | "tool_result"
  | "memory_write"
  | "agent_message"
  | "intervention"
  /** A tool a layer did not give the agent, before the task (not an intervention). */
  | "tools_offered"
  /** Why the model acted as it did, where it says (the simulated model: each planted text it read, p and draw). */
  | "model_decision"
  /** What the model is told before the task: the agent's system prompt, once per agent. */
  | "system_prompt"
  /**
   * One call of the model: the messages it was sent, by role, and a hash of them. Their text is the events before it
   * (the system prompt, the request, each output, result and message as `delivered`), so the hash names them once.
   */
  | "model_call"
  /** A tool as the model is offered it: its description (as its provider wrote it; `delivered` if a layer rewrote it). */
  | "tool_description"
  | "error";

export interface TraceEvent {
  readonly agent: string;
  readonly kind: TraceKind;
  readonly source?: string | null;
  readonly tool?: string | null;
  readonly verdict?: string | null;
  readonly code?: string | null;
  readonly reason?: string | null;
  readonly layer?: string | null;
  readonly hook?: string | null;
  readonly defense?: string | null;
  /** For an `ask_approval` intervention: what the approver decided. */
  readonly approved?: boolean | null;
  /** For a `transform` intervention: whether the rewrite kept all the information. */
  readonly keeps_information?: boolean | null;
  readonly detail?: string | null;
  /** What the agent received when a layer rewrote `detail` (marked, delimited, redacted); absent when it was as is. */
  readonly delivered?: string | null;
}

export interface EpisodeSetup {
  readonly episodeId: string;
  readonly userPrompt: string;
  readonly environment: Environment;
  readonly stack: DefenseStack;
  readonly trace: (event: TraceEvent) => void;
  /** Call options for the model, e.g. its sampling seed. */
  readonly modelOptions: Record<string, unknown>;
  /** A compromised agent: the attacker's text rides on every message it sends. */
  readonly compromisedAgent?: { readonly agent: string; readonly text: string };
  /** A forged message: it reaches `to` as if `from` had sent it, when `to` starts working; `from` never sent it. */
  readonly spoofedMessage?: { readonly from: string; readonly to: string; readonly text: string };
  /** An agent in the middle of one edge: the attacker's text is added to each message on it, after it was sent. */
  readonly tamperedEdge?: { readonly from: string; readonly to: string; readonly text: string };
  /** Memory entries retrieved per agent turn. */
  readonly memoryLimit?: number;
  /** Whom the agents serve in this episode, by handle (one deployment serves many users); default `user`. */
  readonly principal?: string;
  /** Instrumentation: every text that reached an agent's model context, after the defenses (not a defense hook). */
  readonly observeContext?: (agent: string, text: string, kind: ContextKind) => void;
}

/** Counts the runner reports per episode. */
export interface EpisodeCounters {
  modelCalls: number;
  toolCalls: number;
  /** Tokens the endpoint reported (a cached answer reports none: it was not paid for again). */
  inputTokens: number;
  outputTokens: number;
  /** Model calls answered from the response cache. */
  cachedCalls: number;
}

/**
 * One episode's runtime, shared by the agents of a system. Graph nodes reach the world, the memory store and
 * the other agents only through {@link AgentRuntime}, which routes every context entry and every action
 * through the defense stack: the one choke point.
 */
export class EpisodeRuntime {
  readonly counters: EpisodeCounters = { modelCalls: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, cachedCalls: 0 };
  private readonly agents = new Map<string, AgentRuntime>();
  private readonly starting = new Map<string, Promise<AgentRuntime>>();
  constructor(readonly setup: EpisodeSetup) {}

  /** The runtime of an agent that has already run in this episode. */
  existingAgent(id: string): AgentRuntime {
    const runtime = this.agents.get(id);
    if (!runtime) throw new Error(`agent ${id} has not run in episode ${this.setup.episodeId}`);
    return runtime;
  }

  /** The runtime of one agent, created on first use with the tools it may call (after the layers narrowed them). */
  agent(id: string, toolNames: readonly string[]): Promise<AgentRuntime> {
    const ready = this.agents.get(id);
    if (ready) return Promise.resolve(ready);
    let runtime = this.starting.get(id);
    if (!runtime) {
      const tools: ToolDescriptor[] = [];
      for (const name of toolNames) {
        const schema = this.setup.environment.tools.get(name);
        if (schema) tools.push(schema.descriptor);
      }
      const { stack } = this.setup;
      runtime = stack.offeredTools(tools, stack.scope(id, tools)).then(({ offered, withheld }) => {
        const agent = new AgentRuntime(id, this, offered, withheld);
        this.agents.set(id, agent);
        return agent;
      });
      this.starting.set(id, runtime);
    }
    return runtime;
  }
}

/** The text an agent received, when a layer's rewrite made it differ from the original. */
const rewritten = (original: string, received: string | undefined) => (received !== undefined && received !== original ? received : null);

/** Refusals the model reads, so a real model can carry on with the rest of its task. */
export const notices = {
  toolRefused: (o: Refusal) => `Tool call refused by the security policy (${o.code}): ${o.reason}`,
  contentWithheld: (o: Refusal) => `[Content withheld by the security policy (${o.code}): ${o.reason}]`,
  memoryQuarantined: (o: Refusal) => `Memory entry held in quarantine for review (${o.code}): ${o.reason}`,
  memoryRefused: (o: Refusal) => `Memory write refused by the security policy (${o.code}): ${o.reason}`,
  messageRefused: (o: Refusal) => `Message refused by the security policy (${o.code}): ${o.reason}`,
};
type Refusal = Extract<StackOutcome, { passed: false }>;

/** A tool as offered to a model (OpenAI function format). */
export interface ModelTool {
  readonly type: "function";
  readonly function: { readonly name: string; readonly description: string; readonly parameters: Record<string, unknown> };
}

export const modelTool = (name: string, description: string, parameters: Record<string, unknown>): ModelTool => ({
  type: "function",
  function: { name, description, parameters },
});

export class AgentRuntime {
  readonly scope: HookScope;
  /** Whether untrusted content has reached this agent's context: memory it writes inherits that label. */
  private tainted = false;
  private memorySeq = 0;
  private spoofDelivered = false;
  private readonly pending: { from: string; text: string }[] = [];
  private bound: Runnable | null = null;
  /** The model step whose actions are being checked: what the model read, and re-runs of it by request. */
  private step: { readonly messages: readonly BaseMessage[]; readonly options: Record<string, unknown>; readonly replays: Map<string, Promise<readonly ProposedCall[]>> } | null = null;

  /** The tools this agent was given, after the layers that narrow the tool list before the task. */
  readonly tools: readonly ToolDescriptor[];

  constructor(
    readonly id: string,
    private readonly episode: EpisodeRuntime,
    offered: readonly ToolDescriptor[],
    withheld: readonly { readonly tool: string; readonly defense: string }[],
  ) {
    this.tools = offered;
    this.scope = episode.setup.stack.scope(id, offered, (request) => this.replay(request));
    for (const { tool, defense } of withheld) this.trace({ kind: "tools_offered", tool, defense, verdict: "withheld", detail: `${tool} is not offered to ${id}` });
  }

  private get setup() {
    return this.episode.setup;
  }

  private trace(event: Omit<TraceEvent, "agent">) {
    this.setup.trace({ agent: this.id, ...event });
  }

  private provenance(source: string, trust: Trust): Provenance {
    return { source, trust, agent: this.id };
  }

  /**
   * The model with this agent's tools bound, once per episode. Tool descriptions are context too: each passes
   * through the stack, untrusted when a third party ships the tool, and a withheld one is offered without it.
   * They do not taint what the agent writes to memory: that label tracks the data read while working, and an
   * installed tool's description is configuration, present in every task.
   */
  async boundModel(model: BaseChatModel, reserved: readonly ModelTool[]): Promise<Runnable> {
    if (this.bound) return this.bound;
    const offered: ModelTool[] = [];
    for (const descriptor of this.tools) {
      const schema = this.setup.environment.tools.get(descriptor.name)!;
      const provenance = this.provenance(`tool:${descriptor.name}`, descriptor.provider ? "untrusted" : "trusted");
      const outcome = await this.setup.stack.check("onContext", { kind: "tool_description", content: descriptor.description, provenance }, this.scope);
      const description = outcome.passed ? (outcome.content ?? descriptor.description) : notices.contentWithheld(outcome);
      this.setup.observeContext?.(this.id, description, "tool_description");
      this.trace({ kind: "tool_description", tool: descriptor.name, source: provenance.source, verdict: outcome.passed ? "allow" : outcome.verdict, detail: descriptor.description, delivered: outcome.passed ? rewritten(descriptor.description, outcome.content) : null });
      offered.push(modelTool(descriptor.name, description, schema.parameters));
    }
    this.bound = model.bindTools!([...offered, ...reserved]);
    return this.bound;
  }

  /** The system prompt: the agent's own, then each layer's contribution. */
  async systemPrompt(base: string): Promise<string> {
    const prompt = [base, ...(await this.setup.stack.systemPrompt(this.scope))].join("\n\n");
    this.trace({ kind: "system_prompt", detail: prompt });
    return prompt;
  }

  /** The user's request. Returns the text to show the model, or null when a layer stopped it. */
  async userInput(text: string): Promise<string | null> {
    const outcome = await this.setup.stack.check("onUserInput", { text }, this.scope);
    this.trace({ kind: "user_input", source: "user", detail: text, delivered: outcome.passed ? rewritten(text, outcome.content) : null, verdict: outcome.passed ? "allow" : outcome.verdict });
    return outcome.passed ? (outcome.content ?? text) : null;
  }

  /** Retrieves relevant long-term memory for a query; returns the entries that reached the context. */
  async retrieveMemory(query: string): Promise<string[]> {
    const records = retrieveMemory(this.setup.environment.memory, this.id, query, this.setup.memoryLimit ?? 5);
    const delivered: string[] = [];
    const principal = this.setup.principal ?? "user";
    for (const record of records) {
      // A note written in another user's session is that user's word, not this user's: untrusted here.
      const writer = record.principal ?? principal;
      const provenance = writer === principal ? record.provenance : { ...record.provenance, source: `memory:${writer}`, trust: "untrusted" as const };
      const outcome = await this.setup.stack.check("onContext", { kind: "memory_read", content: record.text, provenance }, this.scope);
      this.trace({ kind: "memory_read", source: provenance.source, detail: record.text, delivered: outcome.passed ? rewritten(record.text, outcome.content) : null, verdict: outcome.passed ? "allow" : outcome.verdict });
      if (!outcome.passed) continue;
      if (provenance.trust === "untrusted") this.tainted = true;
      delivered.push(outcome.content ?? record.text);
      this.setup.observeContext?.(this.id, outcome.content ?? record.text, "memory_read");
    }
    return delivered;
  }

  /** Runs one tool call through the stack and the world; returns what the model reads back. */
  async callTool(id: string, name: string, args: Record<string, unknown>): Promise<string> {
    this.episode.counters.toolCalls++;
    const descriptor = this.tools.find((t) => t.name === name);
    if (!descriptor) {
      const message = `Error: unknown tool "${name}". Available tools: ${this.tools.map((t) => t.name).join(", ")}`;
      this.trace({ kind: "tool_call", tool: name, verdict: "error", code: "unknown_tool", detail: JSON.stringify(args) });
      return message;
    }
    const call = { id, tool: descriptor, args };
    const decision = await this.setup.stack.check("onToolCall", call, this.scope);
    this.trace({ kind: "tool_call", tool: name, source: `tool:${name}`, verdict: decision.passed ? "allow" : decision.verdict, detail: JSON.stringify(args) });
    if (!decision.passed) return notices.toolRefused(decision);

    let content: string;
    try {
      content = this.setup.environment.execute(name, args);
    } catch (error) {
      if (!(error instanceof ToolArgumentError)) throw error;
      this.trace({ kind: "tool_result", tool: name, verdict: "error", code: error.code, detail: error.message });
      return `Error: ${error.message}`;
    }
    const provenance = this.provenance(`tool:${name}`, descriptor.source);
    const result = await this.setup.stack.check("onToolResult", { call, content, provenance }, this.scope);
    const delivered = result.passed
      ? await this.setup.stack.check("onContext", { kind: "tool_result", content: result.content ?? content, provenance, call }, this.scope)
      : result;
    this.trace({ kind: "tool_result", tool: name, source: provenance.source, verdict: delivered.passed ? "allow" : delivered.verdict, detail: content, delivered: delivered.passed ? rewritten(content, delivered.content) : null });
    if (!delivered.passed) return notices.contentWithheld(delivered);
    if (descriptor.source === "untrusted") this.tainted = true;
    this.setup.observeContext?.(this.id, delivered.content ?? content, "tool_result");
    return delivered.content ?? content;
  }

  /** Writes to this agent's memory zone: active, quarantined (kept, never retrieved) or refused. */
  async writeMemory(text: string): Promise<string> {
    const provenance = this.provenance(`agent:${this.id}`, this.tainted ? "untrusted" : "trusted");
    const outcome = await this.setup.stack.check("onMemoryWrite", { text, provenance, zone: this.id }, this.scope);
    const record = (status: "active" | "quarantined", stored: string) =>
      this.setup.environment.memory.push({
        id: `${this.setup.episodeId}:${this.id}:${this.memorySeq++}`,
        text: stored,
        zone: this.id,
        provenance,
        status,
        episode: this.setup.episodeId,
        principal: this.setup.principal ?? "user",
      });
    this.trace({ kind: "memory_write", source: provenance.source, verdict: outcome.passed ? "allow" : outcome.verdict, detail: text });
    if (outcome.passed) {
      record("active", outcome.content ?? text);
      return "Saved to long-term memory.";
    }
    if (outcome.verdict === "quarantine") {
      record("quarantined", text);
      return notices.memoryQuarantined(outcome);
    }
    return notices.memoryRefused(outcome);
  }

  /** Sends a message to another agent: the text that arrives, or the refusal the sender reads. */
  async send(to: string, content: string): Promise<{ content: string } | { refused: string }> {
    const compromised = this.setup.compromisedAgent;
    const text = compromised?.agent === this.id ? `${content}\n\n${compromised.text}` : content;
    const provenance = this.provenance(`agent:${this.id}`, this.tainted ? "untrusted" : "trusted");
    const outcome = await this.setup.stack.check("onAgentMessage", { from: this.id, to, content: text, direction: "send", provenance }, this.scope);
    this.trace({ kind: "agent_message", source: provenance.source, verdict: outcome.passed ? "allow" : outcome.verdict, detail: `to ${to}: ${text}` });
    if (!outcome.passed) return { refused: notices.messageRefused(outcome) };
    const sent = outcome.content ?? text;
    const tamper = this.setup.tamperedEdge;
    return { content: tamper?.from === this.id && tamper.to === to ? `${sent}\n\n${tamper.text}` : sent };
  }

  /** Leaves a message that left `from` for this agent; it is received (checked) when the agent next reads its inbox. */
  enqueue(from: string, text: string): void {
    this.pending.push({ from, text });
  }

  /**
   * Messages waiting for this agent — those left by {@link enqueue}, and a forged one the first time — each received
   * through {@link receive}; returns what the model reads.
   */
  async inbox(): Promise<{ from: string; content: string }[]> {
    const spoof = this.setup.spoofedMessage;
    if (spoof?.to === this.id && !this.spoofDelivered) {
      this.spoofDelivered = true;
      this.pending.unshift({ from: spoof.from, text: spoof.text });
    }
    const waiting = this.pending.splice(0);
    const out: { from: string; content: string }[] = [];
    for (const m of waiting) out.push({ from: m.from, content: await this.receive(m.from, m.text) });
    return out;
  }

  /** Receives another agent's message into this agent's context; returns what the model reads. */
  async receive(from: string, content: string): Promise<string> {
    const provenance = this.provenance(`peer:${from}`, "untrusted");
    const received = await this.setup.stack.check("onAgentMessage", { from, to: this.id, content, direction: "receive", provenance }, this.scope);
    const delivered = received.passed
      ? await this.setup.stack.check("onContext", { kind: "peer_message", content: received.content ?? content, provenance }, this.scope)
      : received;
    this.trace({ kind: "agent_message", source: provenance.source, verdict: delivered.passed ? "allow" : delivered.verdict, detail: `from ${from}: ${content}`, delivered: delivered.passed ? rewritten(content, delivered.content) : null });
    if (!delivered.passed) return notices.contentWithheld(delivered);
    this.tainted = true;
    this.setup.observeContext?.(this.id, delivered.content ?? content, "peer_message");
    return delivered.content ?? content;
  }

  /** Calls the bound model on one step's messages; the step stays open for {@link replay} until the next one. */
  async think(messages: readonly BaseMessage[], options: Record<string, unknown>): Promise<AIMessage> {
    if (!this.bound) throw new Error(`agent ${this.id} has no bound model`);
    this.episode.counters.modelCalls++;
    this.step = { messages, options, replays: new Map() };
    this.trace({ kind: "model_call", detail: describeMessages(messages) });
    return this.account((await this.bound.invoke(messages, options)) as AIMessage);
  }

  private account(output: AIMessage): AIMessage {
    const counters = this.episode.counters;
    counters.inputTokens += output.usage_metadata?.input_tokens ?? 0;
    counters.outputTokens += output.usage_metadata?.output_tokens ?? 0;
    if (output.response_metadata?.[CACHE_HIT] === true) counters.cachedCalls++;
    return output;
  }

  /**
   * The current step again with the request (the first human message) replaced: the tool calls the model proposes
   * then, unexecuted. Memoised per step and request, so several checked calls of one step cost one model call.
   */
  private replay(request: string): Promise<readonly ProposedCall[]> {
    const step = this.step;
    if (!step || !this.bound) return Promise.reject(new Error(`agent ${this.id} has no model step to replay`));
    let replayed = step.replays.get(request);
    if (!replayed) {
      const task = step.messages.findIndex((m) => m.getType() === "human");
      const masked = step.messages.map((m, i) => (i === task ? new HumanMessage({ id: m.id, content: request }) : m));
      this.episode.counters.modelCalls++;
      replayed = (this.bound.invoke(masked, step.options) as Promise<AIMessage>).then((out) => (this.account(out).tool_calls ?? []).map((c) => ({ tool: c.name, args: c.args })));
      step.replays.set(request, replayed);
    }
    return replayed;
  }

  /** The model's account of its decisions on this turn, when it gives one (see models/decisions.ts). */
  traceModelDecisions(decisions: unknown): void {
    if (!Array.isArray(decisions)) return;
    for (const d of decisions as ModelDecision[]) {
      // A text stays in the context and is weighed again each turn: a decision is traced when it is new.
      const detail = JSON.stringify(d);
      if (this.decisionsTraced.has(detail)) continue;
      this.decisionsTraced.add(detail);
      this.trace({ kind: "model_decision", source: d.channel, detail });
    }
  }
  private readonly decisionsTraced = new Set<string>();

    traceModelOutput(detail: string): void {
    this.trace({ kind: "model_output", detail });
  }
}

/** "6 messages (system 1, human 1, ai 2, tool 2), sha256 1f2e…": what one model call was sent, and its fingerprint. */
function describeMessages(messages: readonly BaseMessage[]): string {
  const hash = createHash("sha256");
  const roles = new Map<string, number>();
  for (const m of messages) {
    const role = m.getType();
    roles.set(role, (roles.get(role) ?? 0) + 1);
    hash.update(role).update("\0").update(typeof m.content === "string" ? m.content : JSON.stringify(m.content)).update("\0");
    const calls = role === "ai" ? (m as AIMessage).tool_calls : undefined;
    if (calls?.length) hash.update(JSON.stringify(calls.map((c) => [c.name, c.args])));
    hash.update("\0");
  }
  const byRole = [...roles].map(([role, n]) => `${role} ${n}`).join(", ");
  return `${messages.length} messages (${byRole}), sha256 ${hash.digest("hex").slice(0, 16)}`;
}
