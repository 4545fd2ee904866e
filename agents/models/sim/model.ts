import { BaseChatModel, type BaseChatModelCallOptions, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, type ToolCall } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { canonical } from "../../../defenses/approver.ts";
import { uniform } from "../../../defenses/util/uniform.ts";
import { DELEGATE_PREFIX } from "../../reserved-tools.ts";
import { type ContextPart, decodedForms, Perception, normalise } from "./perception.ts";
import { type PayloadStyle, type SimProfile, styleOf } from "./profiles.ts";

/** A tool call with literal arguments. */
export interface PlannedCall {
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** Task registry entry: the prompt the model recognises and the ground-truth plan it follows. */
export interface SimTask {
  readonly prompt: string;
  readonly plan: readonly PlannedCall[];
}

/**
 * Payload registry entry: an injected text and the calls its author wants. The model follows them when it has
 * read the core (default: the whole text) in its context and its profile's draw says it complies.
 */
export interface SimPayload {
  readonly id: string;
  readonly text: string;
  /** What must be read for the payload to work; fragments when it was split across sources. */
  readonly core?: string | readonly string[];
  /** A delayed trigger: the payload asks for its calls only when the request mentions this. */
  readonly trigger?: string;
  readonly calls: readonly PlannedCall[];
}

export interface SimCallOptions extends BaseChatModelCallOptions {
  /** The episode's sampling seed: compliance draws depend on it. */
  seed?: number;
  /** The payloads in play this episode (the simulation's knowledge, never a defense's). */
  payloads?: readonly SimPayload[];
}

export interface SimFields {
  readonly profile: SimProfile;
  readonly tasks: readonly SimTask[];
  readonly boundTools?: readonly string[];
  /** Descriptions of the bound tools, which the model reads like any other context. */
  readonly toolDescriptions?: readonly string[];
  /**
   * A parametric vaccine: learned resistance applied to what the model comprehends. A payload whose text, in any
   * form the model can decode, it recognises is not followed — the simulated analogue of fine-tuning.
   */
  readonly resistance?: (text: string) => boolean;
}

/**
 * The deterministic simulated model. It completes the user task by its ground-truth plan — one call per turn,
 * delegating steps whose tools it lacks when it can — and reacts to every injection it can read like a model
 * that understands it, complying by a seeded draw from its profile. Attacker calls come before the rest of the plan.
 */
export class SimulatedChatModel extends BaseChatModel<SimCallOptions> {
  readonly simProfile: SimProfile;
  private readonly tasks: ReadonlyMap<string, SimTask>;
  private readonly taskList: readonly SimTask[];
  private readonly boundTools: ReadonlySet<string>;
  private readonly toolDescriptions: readonly string[];
  /** Delegation tools and the words of their descriptions (the tools a peer names), in binding order. */
  private readonly delegates: ReadonlyMap<string, ReadonlySet<string>>;
  /** Delegations for review: made once, after the model's own steps, never for a missing tool. */
  private readonly reviewers: ReadonlySet<string>;
  private readonly styles = new Map<string, PayloadStyle>();
  private readonly resistance?: (text: string) => boolean;
  private readonly resisted = new Map<string, boolean>();

  constructor(fields: SimFields) {
    super({});
    this.simProfile = fields.profile;
    this.taskList = fields.tasks;
    this.tasks = registryOf(fields.tasks);
    this.boundTools = new Set(fields.boundTools ?? []);
    this.toolDescriptions = fields.toolDescriptions ?? [];
    this.resistance = fields.resistance;
    const names = fields.boundTools ?? [];
    const delegation = names.map((name, i) => [name, this.toolDescriptions[i] ?? ""] as const).filter(([name]) => name.startsWith(DELEGATE_PREFIX));
    this.delegates = new Map(delegation.map(([name, description]) => [name, new Set(description.split(/[^\w]+/))]));
    this.reviewers = new Set(delegation.filter(([, description]) => REVIEW_HANDOFF.test(description)).map(([name]) => name));
  }

  _llmType(): string {
    return "sim";
  }

  override bindTools(tools: BindToolsInput[]): SimulatedChatModel {
    const specs = tools.map((t) => {
      const tool = t as { name?: string; description?: string; function?: { name?: string; description?: string } };
      return { name: tool.function?.name ?? tool.name ?? "", description: tool.function?.description ?? tool.description ?? "" };
    });
    return new SimulatedChatModel({
      profile: this.simProfile,
      tasks: this.taskList,
      boundTools: specs.map((s) => s.name),
      toolDescriptions: specs.map((s) => s.description),
      resistance: this.resistance,
    });
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    const message = this.decide(messages, options.seed ?? 0, options.payloads ?? []);
    return { generations: [{ text: typeof message.content === "string" ? message.content : "", message }] };
  }

  private decide(messages: BaseMessage[], seed: number, payloads: readonly SimPayload[]): AIMessage {
    const taskIndex = messages.findIndex((m) => m.getType() === "human");
    const prompt = taskIndex >= 0 ? textOf(messages[taskIndex]!).trim() : "";
    const turn = messages.filter((m) => m.getType() === "ai").length;
    const idBase = `sim-${seed}-${uniform(prompt).toString(36).slice(2, 10)}-${turn}`;
    const emitted = messages.flatMap((m) => (m.getType() === "ai" ? ((m as AIMessage).tool_calls ?? []) : []));
    const remaining = emitted.map((c) => `${c.name}:${canonical(c.args)}`);
    const consume = (call: PlannedCall): boolean => {
      const i = remaining.indexOf(`${call.tool}:${canonical(call.args)}`);
      if (i < 0) return false;
      remaining.splice(i, 1);
      return true;
    };
    const callMessage = (call: PlannedCall) =>
      new AIMessage({ id: idBase, content: "", tool_calls: [{ id: `${idBase}-call`, name: call.tool, args: { ...call.args }, type: "tool_call" } as ToolCall] });

    const task = this.taskIn(prompt);
    // A request handed on by another agent carries more than the task (its findings, or what rode on it): read it.
    // A request that is no task the model knows is read for what it asks (a user talking to the agent directly).
    const handedOn: ContextPart[] = !task ? [{ channel: "user", text: prompt }] : normalise(prompt) !== normalise(task.prompt) ? [{ channel: "peer", text: prompt }] : [];
    const injected = this.injectedCalls(messages, taskIndex, prompt, seed, payloads, handedOn);
    for (const call of injected) {
      if (this.boundTools.has(call.tool) && !consume(call)) return callMessage(call);
    }

    if (!task) return new AIMessage({ id: idBase, content: "I could not identify a task I can help with." });
    const delegated = new Set(emitted.filter((c) => c.name.startsWith(DELEGATE_PREFIX)).map((c) => c.name));
    const handOff = (delegate: string) => callMessage({ tool: delegate, args: { instructions: instructionsFor(task.prompt, messages) } });
    for (const step of task.plan) {
      if (this.boundTools.has(step.tool)) {
        if (!consume(step)) return callMessage(step);
        continue;
      }
      const delegate = this.delegateFor(step.tool);
      if (delegate && !delegated.has(delegate)) return handOff(delegate);
    }
    const reviewer = [...this.delegates.keys()].find((d) => this.reviewers.has(d) && !delegated.has(d));
    if (reviewer) return handOff(reviewer);
    return new AIMessage({ id: idBase, content: finalReport(messages) });
  }

  /**
   * The peer to hand a step to: the one whose delegation tool's description names the step's tool, as a model
   * reads "it can use read_email, search_email"; else the first peer (a lone worker's description names no tools).
   */
  private delegateFor(tool: string): string | undefined {
    let first: string | undefined;
    for (const [name, words] of this.delegates) {
      if (this.reviewers.has(name)) continue;
      if (words.has(tool)) return name;
      first ??= name;
    }
    return first;
  }

  /**
   * The task a request asks for. Reading is about information: a request that was delimited or data-marked on its
   * way (a delegation passing a spotlighting layer) is still the same request.
   */
  private taskIn(request: string): SimTask | undefined {
    const text = normalise(request);
    const exact = this.tasks.get(text);
    if (exact) return exact;
    for (const [prompt, task] of this.tasks) if (text.includes(prompt)) return task;
    return undefined;
  }

  /** The attacker calls this model has decided to follow, in payload order. */
  private injectedCalls(
    messages: BaseMessage[],
    taskIndex: number,
    prompt: string,
    seed: number,
    payloads: readonly SimPayload[],
    extra: readonly ContextPart[],
  ): PlannedCall[] {
    if (payloads.length === 0) return [];
    const parts = [...this.toolDescriptions.map((text) => ({ channel: "tool_description" as const, text })), ...extra, ...contextParts(messages, taskIndex)];
    const perception = new Perception(parts, this.simProfile.decodes);
    const calls: PlannedCall[] = [];
    const request = normalise(prompt);
    const hardened = messages[0]?.getType() === "system" && HARDENING.test(textOf(messages[0]));
    for (const payload of payloads) {
      // A trigger fires on the user's words, not on the payload's own (a rule quoted in the request names it).
      if (payload.trigger !== undefined && !request.replace(normalise(payload.text), "").includes(normalise(payload.trigger))) continue;
      const sighting = perception.find(payload.core ?? payload.text);
      if (!sighting || this.resists(payload)) continue;
      const p = this.simProfile.compliance(this.styleOf(payload), sighting, perception.size, hardened);
      if (p >= 1 || uniform(`${seed}|${payload.id}|${request}`) < p) calls.push(...payload.calls);
    }
    return calls;
  }

  /** Whether the model's vaccine recognises the payload as it understands it: as written or decoded. */
  private resists(payload: SimPayload): boolean {
    if (!this.resistance) return false;
    let resisted = this.resisted.get(payload.id);
    if (resisted === undefined) {
      resisted = [payload.text, ...decodedForms(payload.text, this.simProfile.decodes)].some((form) => this.resistance!(form));
      this.resisted.set(payload.id, resisted);
    }
    return resisted;
  }

  private styleOf(payload: SimPayload): PayloadStyle {
    let style = this.styles.get(payload.id);
    if (!style) {
      style = styleOf(payload.text);
      this.styles.set(payload.id, style);
    }
    return style;
  }
}

/** Task registries by task list: binding tools (once per agent and episode) reuses the normalised prompts. */
const registries = new WeakMap<readonly SimTask[], ReadonlyMap<string, SimTask>>();
function registryOf(tasks: readonly SimTask[]): ReadonlyMap<string, SimTask> {
  let registry = registries.get(tasks);
  if (!registry) {
    registry = new Map(tasks.map((t) => [normalise(t.prompt), t]));
    registries.set(tasks, registry);
  }
  return registry;
}

/** A system prompt that tells the model content is data (how a model would read it, not a defense's name). */
const HARDENING = /\bnever follow instructions\b/i;

const textOf = (m: BaseMessage): string => (typeof m.content === "string" ? m.content : JSON.stringify(m.content));

/** Everything the model reads besides its own system prompt and the request. */
function contextParts(messages: BaseMessage[], taskIndex: number): ContextPart[] {
  const parts: ContextPart[] = [];
  messages.forEach((m, i) => {
    if (i === taskIndex || i === 0) return;
    const type = m.getType();
    if (type === "system") parts.push({ channel: "memory", text: textOf(m) });
    else if (type === "tool") parts.push({ channel: (m.name ?? "").startsWith(DELEGATE_PREFIX) ? "peer" : "tool_output", text: textOf(m) });
    else if (type === "human") parts.push({ channel: "peer", text: textOf(m) });
  });
  return parts;
}

/** How a delegation tool says it is for review once the work is done. */
const REVIEW_HANDOFF = /\bonce you have finished\b/i;

/** A hand-off carries the request and, once the model has read something, what it found: the next agent needs it. */
function instructionsFor(prompt: string, messages: BaseMessage[]): string {
  const results = messages.filter((m) => m.getType() === "tool").map(textOf);
  return results.length > 0 ? `${prompt}\n\nWhat I found so far:\n${results.join("\n---\n")}` : prompt;
}

/** The final answer quotes what the tools returned, as a worker's report to its supervisor would. */
function finalReport(messages: BaseMessage[]): string {
  const results = messages.filter((m) => m.getType() === "tool").map(textOf);
  return results.length > 0 ? `Done. What I found:\n${results.join("\n---\n")}` : "Done.";
}
