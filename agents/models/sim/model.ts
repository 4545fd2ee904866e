import { BaseChatModel, type BaseChatModelCallOptions, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, type ToolCall } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { randomBytes } from "node:crypto";
import { canonical } from "../../../defenses/approver.ts";
import { uniform } from "../../../defenses/util/uniform.ts";
import { DELEGATE_PREFIX } from "../../reserved-tools.ts";
import { MODEL_DECISIONS, type ModelDecision } from "../decisions.ts";
import { type PlannedCall, ungrounded, withGuesses } from "./grounding.ts";
import { saysContentIsData } from "./meaning.ts";
import { ReadText, type Sought, sought } from "../../../defenses/util/reading.ts";
import { type Framing, framingOf, passageAround, type Reader, unwrapItem, userNamesIn } from "./framing.ts";
import { type Channel, decodedForms, type Encoding, normalise, Perception, ReadForms, ReadPart, type Sighting } from "./perception.ts";
import type { Perceived, SimProfile } from "./profiles.ts";

export type { PlannedCall } from "./grounding.ts";

/** A step of a task's plan. */
export interface PlanStep extends PlannedCall {
  /**
   * The text in the world's content that asks for this step, when the user delegated it ("do what ticket OPS-106
   * asks"): a model given no task may still follow it, as it would an injection (MELON's known false positive).
   */
  readonly instructed_by?: string;
}

/** Task registry entry: the prompt the model recognises and the ground-truth plan it intends to follow. */
export interface SimTask {
  readonly prompt: string;
  readonly plan: readonly PlanStep[];
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

/** A call the model means to make, keyed by where its intent comes from (a plan step, a payload's call, an instruction in content). */
interface Intent {
  readonly key: string;
  readonly call: PlannedCall;
  /** What to ask a peer for when the model lacks the tool and needs the result for a later call of its own. */
  readonly relay?: string;
}

/** An instruction in the world's own content that asks for a step of a delegated task. */
interface ContentInstruction {
  readonly id: string;
  readonly text: string;
  readonly call: PlannedCall;
}

/**
 * The deterministic simulated model. It means to complete the user task by its ground-truth plan — one call per
 * turn, delegating steps whose tools it lacks — but it can only write what it has read: a step whose values are not
 * readable in its context is not made as planned (its profile reports, asks, or guesses wrong). It reacts to every
 * injection it can read like a model that understands it, complying by a seeded draw from its profile; attacker
 * calls come before the rest of the plan and are grounded the same way. Given no task it knows (MELON's masked
 * re-run), it follows instructions it reads in content — injections, and benign ones that delegated tasks rely on.
 */
export class SimulatedChatModel extends BaseChatModel<SimCallOptions> {
  readonly simProfile: SimProfile;
  private readonly tasks: ReadonlyMap<string, SimTask>;
  private readonly taskList: readonly SimTask[];
  private readonly instructions: readonly ContentInstruction[];
  private readonly boundTools: ReadonlySet<string>;
  private readonly descriptionParts: readonly ReadPart[];
  /** Delegation tools and the words of their descriptions (the tools a peer names), in binding order. */
  private readonly delegates: ReadonlyMap<string, ReadonlySet<string>>;
  /** Delegations for review: made once, after the model's own steps, never for a missing tool. */
  private readonly reviewers: ReadonlySet<string>;
  private readonly resistance?: (text: string) => boolean;
  private readonly resisted = new Map<string, boolean>();
  /** What each call this model made was for, by its id: the model reads its own history; no layer can. */
  private readonly ownCalls = new Map<string, string>();

  constructor(fields: SimFields) {
    super({});
    this.simProfile = fields.profile;
    this.taskList = fields.tasks;
    ({ registry: this.tasks, instructions: this.instructions } = registryOf(fields.tasks));
    this.boundTools = new Set(fields.boundTools ?? []);
    const descriptions = fields.toolDescriptions ?? [];
    this.descriptionParts = descriptions.map((text) => new ReadPart("tool_description", text, fields.profile.decodes));
    this.resistance = fields.resistance;
    const names = fields.boundTools ?? [];
    const delegation = names.map((name, i) => [name, descriptions[i] ?? ""] as const).filter(([name]) => name.startsWith(DELEGATE_PREFIX));
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
    const decisions: ModelDecision[] = [];
    const message = this.decide(messages, options.seed ?? 0, options.payloads ?? [], decisions);
    if (decisions.length > 0) message.response_metadata = { ...message.response_metadata, [MODEL_DECISIONS]: decisions };
    return { generations: [{ text: typeof message.content === "string" ? message.content : "", message }] };
  }

  private decide(messages: BaseMessage[], seed: number, payloads: readonly SimPayload[], decisions: ModelDecision[]): AIMessage {
    const { prompt, task, reading, context } = this.read(messages);
    const messageId = opaqueId("msg");
    const emitted = messages.flatMap((m) => (m.getType() === "ai" ? ((m as AIMessage).tool_calls ?? []) : []));
    const made = madeCalls(emitted, this.ownCalls);
    const done = { has: (key: string, call?: PlannedCall) => made.keys.has(key) || (call !== undefined && made.consume(call)) };
    const callMessage = (key: string, tool: string, args: Readonly<Record<string, unknown>>) => {
      const id = opaqueId("call");
      this.ownCalls.set(id, key);
      return new AIMessage({ id: messageId, content: "", tool_calls: [{ id, name: tool, args: { ...args }, type: "tool_call" } as ToolCall] });
    };

    const intents = [...this.injectedCalls(reading, prompt, seed, payloads, context, task === undefined, decisions), ...(task ? [] : this.instructedCalls(reading, seed, context))];
    for (const { key, call, relay } of intents) {
      // A call it has already made, for whatever reason, it does not make again.
      if (done.has(key) || made.includes(call)) continue;
      if (!this.boundTools.has(call.tool)) {
        // A hijacked agent that lacks a tool gets a peer to make the call for it, as it would for the user.
        const delegate = relay === undefined ? undefined : this.delegateFor(call.tool, true);
        if (delegate && !done.has(`relay-${key}`)) return callMessage(`relay-${key}`, delegate, { instructions: relay });
        continue;
      }
      const missing = ungrounded(call, reading);
      if (missing.length === 0) return callMessage(key, call.tool, call.args);
      // What it could not find for an attacker it leaves, unless it is a model that guesses.
      if (this.simProfile.ungrounded === "guess") return callMessage(key, call.tool, withGuesses(call, missing));
    }

    if (!task) return new AIMessage({ id: messageId, content: emitted.length > 0 ? finalReport(messages) : "I could not identify a task I can help with." });
    const delegated = (delegate: string) => done.has(`handoff-${delegate}`);
    const handOff = (delegate: string) => callMessage(`handoff-${delegate}`, delegate, { instructions: instructionsFor(task.prompt, messages) });
    for (const [i, step] of task.plan.entries()) {
      if (this.boundTools.has(step.tool)) {
        const key = `plan-${i}`;
        if (done.has(key, step)) continue;
        const missing = ungrounded(step, reading);
        if (missing.length === 0) return callMessage(key, step.tool, step.args);
        if (this.simProfile.ungrounded === "guess") return callMessage(key, step.tool, withGuesses(step, missing));
        return new AIMessage({ id: messageId, content: notFound(this.simProfile.ungrounded, step.tool, missing) });
      }
      const delegate = this.delegateFor(step.tool);
      if (delegate && !delegated(delegate)) return handOff(delegate);
    }
    const reviewer = [...this.delegates.keys()].find((d) => this.reviewers.has(d) && !delegated(d));
    if (reviewer) return handOff(reviewer);
    return new AIMessage({ id: messageId, content: finalReport(messages) });
  }

  /**
   * What the model takes in at this step: the request and the task it asks for (if one it knows), and a reading of
   * its whole context — its system prompt, the tool descriptions, the request, every message since — each message
   * read once for the conversation's life.
   */
  private read(messages: BaseMessage[]) {
    const taskIndex = messages.findIndex((m) => m.getType() === "human");
    const prompt = taskIndex >= 0 ? textOf(messages[taskIndex]!).trim() : "";
    const decodes = this.simProfile.decodes;
    const requestForms = taskIndex >= 0 ? formsOf(messages[taskIndex]!, decodes) : null;
    const task = requestForms ? this.taskIn(requestForms.reading) : undefined;
    // The request is read like the rest: the user's own words, or — handed on by another agent with its findings,
    // or not a task the model knows — text that may carry more than a task.
    const requestChannel: Channel = task && requestForms!.reading.normal === normalise(task.prompt) ? "user" : task ? "peer" : "user";
    const system = messages[0]?.getType() === "system" ? messages[0] : undefined;
    const systemText = system ? textOf(system) : "";
    const requestIndex = requestForms ? (system ? 1 : 0) + this.descriptionParts.length : -1;
    const reading = new Perception(
      [
        ...(system ? [partOf(system, "system", decodes)] : []),
        ...this.descriptionParts,
        ...(requestForms ? [new ReadPart(requestChannel, requestForms, decodes)] : []),
        ...contextParts(messages, taskIndex, decodes),
      ],
      decodes,
    );
    const context: ReadingContext = {
      hardened: system !== undefined && saysContentIsData(systemText),
      request: prompt,
      requestIndex,
      reader: readerOf(this.simProfile, systemText, prompt),
    };
    return { prompt, task, reading, context };
  }

  /**
   * What the model perceives about an injection it read: the framing of the text it read it in, as that text reached
   * it, and what the rest of its context says — whether the system prompt explains a visible marking, whether the
   * request stands again after it, whether more came after, where it came from.
   */
  private perceive(sighting: Sighting, core: string, reading: Perception, context: ReadingContext): Perceived {
    const { framing, delimited } = framingIn(sighting.forms, core, context.reader);
    const marked = (!sighting.verbatim && !sighting.decoded) || delimited;
    return {
      ...framing,
      explained_marking: context.hardened && marked,
      content_is_data_prompt: context.hardened && !marked,
      request_repeated: sighting.channel !== "user" && context.request.length > 0 && reading.readsFrom(context.request, sighting.position, context.requestIndex),
      not_latest: sighting.position < reading.size - 1,
      decoded: sighting.decoded,
      from_memory: sighting.channel === "memory",
      from_peer: sighting.channel === "peer",
      from_tool_description: sighting.channel === "tool_description",
      filtered_tools: false,
    };
  }

  /**
   * The peer to hand a step to: the one whose delegation tool's description names the step's tool, as a model
   * reads "it can use read_email, search_email"; else the first peer (a lone worker's description names no tools).
   * A reviewer is asked only by a model that would ask anyone (a hijacked one).
   */
  private delegateFor(tool: string, anyPeer = false): string | undefined {
    let first: string | undefined;
    for (const [name, words] of this.delegates) {
      if (this.reviewers.has(name) && !anyPeer) continue;
      if (words.has(tool)) return name;
      first ??= name;
    }
    return first;
  }

  /**
   * The task a request asks for. Reading is about information: a request that was delimited or data-marked on its
   * way (a delegation passing a spotlighting layer) is still the same request.
   */
  private taskIn(request: ReadText): SimTask | undefined {
    const exact = this.tasks.get(request.normal);
    if (exact) return exact;
    for (const [prompt, task] of this.tasks) if (request.normal.includes(prompt)) return task;
    for (const task of this.tasks.values()) if (request.contains(soughtPrompt(task))) return task;
    return undefined;
  }

  /**
   * The attacker calls this model has decided to follow, in payload order. The decision about an injection is fixed
   * by what the model read — a draw keyed by the seed and the payload, against its profile's compliance — not by the
   * request's wording; with no task in view it stands again with the profile's masked agreement.
   */
  private injectedCalls(reading: Perception, prompt: string, seed: number, payloads: readonly SimPayload[], context: ReadingContext, noTask: boolean, decisions: ModelDecision[]): Intent[] {
    if (payloads.length === 0) return [];
    const intents: Intent[] = [];
    const request = normalise(prompt);
    payloads.forEach((payload, i) => {
      // A trigger fires on the user's words, not on the payload's own (a rule quoted in the request names it).
      if (payload.trigger !== undefined && !request.replace(normalise(payload.text), "").includes(normalise(payload.trigger))) return;
      const sighting = reading.find(payload.core ?? payload.text);
      if (!sighting || this.resists(payload)) return;
      const core = payload.core === undefined ? payload.text : typeof payload.core === "string" ? payload.core : payload.core[0]!;
      const perceived = this.perceive(sighting, core, reading, context);
      const p = this.simProfile.compliance(perceived, sighting.channel === "user" ? "user" : "other");
      const draw = p >= 1 ? null : uniform(`${seed}|${payload.id}`);
      let follows = draw === null || draw < p;
      if (follows && noTask && sighting.channel !== "user") follows = uniform(`${seed}|${payload.id}|no-task`) < this.simProfile.maskedAgreement;
      decisions.push({ payload: payload.id, channel: sighting.channel, perceived, p, draw, followed: follows });
      if (!follows) return;
      const asked = typeof payload.core === "string" ? payload.core : (payload.core ?? [payload.text]).join(" ");
      payload.calls.forEach((call, j) => {
        const needed = !this.boundTools.has(call.tool) && payload.calls.slice(j + 1).some((later) => this.boundTools.has(later.tool));
        intents.push({ key: `payload-${i}-${j}`, call, ...(needed && { relay: asked }) });
      });
    });
    return intents;
  }

  /**
   * With no task of its own, the benign instructions it reads in content are all it has to go on: it follows each
   * as it would an injection of the same wording, where it read it.
   */
  private instructedCalls(reading: Perception, seed: number, context: ReadingContext): Intent[] {
    const intents: Intent[] = [];
    for (const instruction of this.instructions) {
      if (!this.boundTools.has(instruction.call.tool)) continue;
      const sighting = reading.find(instruction.text);
      if (!sighting) continue;
      const p = this.simProfile.compliance(this.perceive(sighting, instruction.text, reading, context), sighting.channel === "user" ? "user" : "other");
      if (p >= 1 || uniform(`${seed}|${instruction.id}`) < p) intents.push({ key: instruction.id, call: instruction.call });
    }
    return intents;
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
}

/** What a step's reading knows beyond its parts. */
interface ReadingContext {
  /** The system prompt says outside content is data, in any wording. */
  readonly hardened: boolean;
  readonly request: string;
  /** Where the request is among the parts, or -1. */
  readonly requestIndex: number;
  readonly reader: Reader;
}

const readers = new Map<string, Reader>();
function readerOf(profile: SimProfile, systemPrompt: string, request: string): Reader {
  const key = `${profile.name}\u0000${systemPrompt}\u0000${request}`;
  let reader = readers.get(key);
  if (!reader) {
    if (readers.size > 1000) readers.clear();
    reader = { answersTo: profile.answersTo, userNames: userNamesIn(systemPrompt, request) };
    readers.set(key, reader);
  }
  return reader;
}

/**
 * The framing of the passage of a text that carries an instruction, and whether the item carrying it was delimited:
 * read once per text, instruction and reader.
 */
interface ItemFraming {
  readonly framing: Framing;
  readonly delimited: boolean;
}
const framings = new WeakMap<ReadForms, Map<Reader, Map<string, ItemFraming>>>();
function framingIn(forms: ReadForms, core: string, reader: Reader): ItemFraming {
  let byReader = framings.get(forms);
  if (!byReader) {
    byReader = new Map();
    framings.set(forms, byReader);
  }
  let byCore = byReader.get(reader);
  if (!byCore) {
    byCore = new Map();
    byReader.set(reader, byCore);
  }
  let read = byCore.get(core);
  if (!read) {
    const item = unwrapItem(forms.text, core);
    read = { framing: framingOf(passageAround(item.text, core), reader), delimited: item.delimited };
    byCore.set(core, read);
  }
  return read;
}

/**
 * Ids of one shape whatever a call is for, as a real API writes them: digits drawn at random, never a word. What a
 * call was for (a plan step, an injected call) the model keeps to itself, by id; a layer sees nothing of it.
 */
function opaqueId(prefix: string): string {
  return `${prefix}_${randomBytes(8).readBigUInt64BE().toString().padStart(20, "0")}`;
}

/**
 * What the model has already done, read from its own calls in the conversation: by the ids it wrote (it remembers
 * what each was for), or — for calls it did not make itself (a conversation handed to it) — by tool and arguments.
 */
function madeCalls(emitted: readonly ToolCall[], own: ReadonlyMap<string, string>) {
  const keys = new Set<string>();
  const foreign: string[] = [];
  const all = new Set<string>();
  for (const call of emitted) {
    const signature = `${call.name}:${canonical(call.args)}`;
    all.add(signature);
    const key = own.get(call.id ?? "");
    if (key !== undefined) keys.add(key);
    else foreign.push(signature);
  }
  return {
    keys,
    includes: (call: PlannedCall) => all.has(`${call.tool}:${canonical(call.args)}`),
    consume(call: PlannedCall): boolean {
      const i = foreign.indexOf(`${call.tool}:${canonical(call.args)}`);
      if (i < 0) return false;
      foreign.splice(i, 1);
      return true;
    },
  };
}

/** Task registries by task list: binding tools (once per agent and episode) reuses the normalised prompts. */
const registries = new WeakMap<readonly SimTask[], { registry: ReadonlyMap<string, SimTask>; instructions: readonly ContentInstruction[] }>();
function registryOf(tasks: readonly SimTask[]) {
  let entry = registries.get(tasks);
  if (!entry) {
    const instructions = tasks.flatMap((t, i) =>
      t.plan.flatMap((step, j) => (step.instructed_by ? [{ id: `instruction-${i}-${j}`, text: step.instructed_by, call: step }] : [])),
    );
    entry = { registry: new Map(tasks.map((t) => [normalise(t.prompt), t])), instructions };
    registries.set(tasks, entry);
  }
  return entry;
}

const textOf = (m: BaseMessage): string => (typeof m.content === "string" ? m.content : JSON.stringify(m.content));

/** Each message read once, for as long as the conversation holds it. */
const readings = new WeakMap<BaseMessage, ReadForms>();
function formsOf(message: BaseMessage, encodings: readonly Encoding[]): ReadForms {
  let forms = readings.get(message);
  if (!forms || forms.encodings !== encodings) {
    forms = new ReadForms(textOf(message), encodings);
    readings.set(message, forms);
  }
  return forms;
}
const partOf = (message: BaseMessage, channel: Channel, encodings: readonly Encoding[]) => new ReadPart(channel, formsOf(message, encodings), encodings);

/** A task's prompt as sought in a request that may have been marked on its way. */
const soughtPrompts = new WeakMap<SimTask, Sought>();
function soughtPrompt(task: SimTask): Sought {
  let wanted = soughtPrompts.get(task);
  if (!wanted) {
    wanted = sought(task.prompt);
    soughtPrompts.set(task, wanted);
  }
  return wanted;
}

/** Everything the model reads besides its own system prompt and the request. */
function contextParts(messages: BaseMessage[], taskIndex: number, encodings: readonly Encoding[]): ReadPart[] {
  const parts: ReadPart[] = [];
  messages.forEach((m, i) => {
    if (i === taskIndex || i === 0) return;
    const type = m.getType();
    if (type === "system") parts.push(partOf(m, "memory", encodings));
    else if (type === "tool") parts.push(partOf(m, (m.name ?? "").startsWith(DELEGATE_PREFIX) ? "peer" : "tool_output", encodings));
    else if (type === "human") parts.push(partOf(m, "peer", encodings));
  });
  return parts;
}

/** What the model says when it cannot write a step from what it read: the arguments, never the values. */
function notFound(how: "report" | "ask", tool: string, missing: readonly string[]): string {
  const what = missing.join(", ");
  return how === "ask"
    ? `To call ${tool} I need the ${what}, which I could not find in what I read. Could you give it to me?`
    : `I could not finish the task: I could not find the ${what} that ${tool} needs in what I read.`;
}

/** How a delegation tool says it is for review once the work is done. */
const REVIEW_HANDOFF = /\bonce you have finished\b/i;

/** What the model found: tool results and the notes it recalled from memory (every system message after its own prompt). */
const foundIn = (messages: BaseMessage[]) => messages.filter((m, i) => m.getType() === "tool" || (i > 0 && m.getType() === "system")).map(textOf);

/** A hand-off carries the request and, once the model has found something, what it found: the next agent needs it. */
function instructionsFor(prompt: string, messages: BaseMessage[]): string {
  const results = foundIn(messages);
  return results.length > 0 ? `${prompt}\n\nWhat I found so far:\n${results.join("\n---\n")}` : prompt;
}

/** The final answer quotes what it found, as a worker's report to its supervisor or a group-chat member's turn would. */
function finalReport(messages: BaseMessage[]): string {
  const results = foundIn(messages);
  return results.length > 0 ? `Done. What I found:\n${results.join("\n---\n")}` : "Done.";
}
