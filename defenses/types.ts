/**
 * The defense hook interface: what a defense layer sees at each interception point and what it may answer.
 * Defenses see only what a deployment would see: content with provenance, tool descriptors, the user's prompt.
 */

/** ANIS Immune Tower layers. */
export const LAYERS = ["L0", "L1", "L2", "L3", "L4", "L5"] as const;
export type Layer = (typeof LAYERS)[number];

export type Trust = "trusted" | "untrusted";

/** Where a piece of content came from; carried by every context entry and memory record. */
export interface Provenance {
  /** e.g. `tool:read_email`, `memory`, `peer:worker`, `user`. */
  readonly source: string;
  readonly trust: Trust;
  /** The agent that received (or wrote) the content. */
  readonly agent: string;
}

export const SENSITIVITIES = ["read", "write", "external_sink", "destructive", "privileged"] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];

/** What a deployment knows about a tool: its name, its risk class, and the trust of what it returns. */
export interface ToolDescriptor {
  readonly name: string;
  readonly description: string;
  readonly sensitivity: Sensitivity;
  /** Trust label of the tool's results. */
  readonly source: Trust;
  /** Arguments that choose where data or money goes (recipients, IBANs, URLs). */
  readonly destinationArgs: readonly string[];
  /** Who ships the tool when it is not the deployment itself (a plugin, an MCP server): its description is untrusted. */
  readonly provider?: string;
}

export type VerdictKind = "allow" | "transform" | "block" | "quarantine" | "ask_approval";

/**
 * A hook's answer. Every kind but `allow` is an intervention; `code` is stable (for GROUP BY), `reason` is for people.
 * `transform` replaces the text of the subject (context, tool result, memory entry, message); it is not valid on tool calls.
 * `evidence` is the offending text itself (a payload sentence, a replicated instruction), when the layer can name it:
 * other layers read it from the episode's alerts (shared signatures, agent quarantine).
 */
export type Verdict =
  | { readonly kind: "allow" }
  | { readonly kind: "transform"; readonly content: string; readonly code: string; readonly reason: string; readonly evidence?: string }
  | { readonly kind: "block"; readonly code: string; readonly reason: string; readonly evidence?: string }
  | { readonly kind: "quarantine"; readonly code: string; readonly reason: string; readonly evidence?: string }
  | { readonly kind: "ask_approval"; readonly code: string; readonly reason: string; readonly evidence?: string };

export const allow: Verdict = Object.freeze({ kind: "allow" });
export const block = (code: string, reason: string, evidence?: string): Verdict => ({ kind: "block", code, reason, evidence });
export const quarantine = (code: string, reason: string, evidence?: string): Verdict => ({ kind: "quarantine", code, reason, evidence });
export const askApproval = (code: string, reason: string, evidence?: string): Verdict => ({ kind: "ask_approval", code, reason, evidence });
export const transform = (content: string, code: string, reason: string, evidence?: string): Verdict => ({ kind: "transform", content, code, reason, evidence });

export type ContextKind = "tool_result" | "memory_read" | "retrieved_document" | "peer_message" | "tool_description";

/** Text about to enter a model's context. */
export interface ContextEntry {
  readonly kind: ContextKind;
  readonly content: string;
  readonly provenance: Provenance;
  /** The tool call whose result this is, when it is one. */
  readonly call?: ToolCallRequest;
}

export interface ToolCallRequest {
  readonly id: string;
  readonly tool: ToolDescriptor;
  readonly args: Readonly<Record<string, unknown>>;
}

export interface ToolResultEvent {
  readonly call: ToolCallRequest;
  readonly content: string;
  readonly provenance: Provenance;
}

export interface MemoryWriteRequest {
  readonly text: string;
  /** Provenance the runtime derived: untrusted when untrusted content was in the agent's context. */
  readonly provenance: Provenance;
  readonly zone: string;
}

export interface AgentMessage {
  readonly from: string;
  readonly to: string;
  readonly content: string;
  /** `send` is checked on the sender's side, `receive` on the recipient's. */
  readonly direction: "send" | "receive";
  readonly provenance: Provenance;
}

export interface CapabilityRequest {
  readonly agent: string;
  readonly capability: string;
  readonly reason: string;
}

export interface UserInput {
  readonly text: string;
}

/** A tool call a model proposed in a re-run step; nothing was executed. */
export interface ProposedCall {
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** An intervention earlier in the episode, as layers see it: the stack's alarm bus between layers and agents. */
export interface Alert {
  readonly agent: string;
  readonly layer: Layer;
  readonly defense: string;
  readonly hook: HookName;
  readonly verdict: "transform" | "block" | "quarantine" | "ask_approval";
  readonly code: string;
  /** Provenance source of what was acted on (`peer:worker`, `agent:worker`, `tool:send_email`). */
  readonly source: string;
  /** For `ask_approval`: whether the approver let it through. */
  readonly approved: boolean | null;
  readonly evidence: string | null;
}

/**
 * The agent system as its deployment knows it: its agents and how they talk — `delegation` (an agent hands work
 * to another, which answers once) or `broadcast` (a group chat: every member's turn goes to every other member).
 */
export interface SystemInfo {
  readonly name: string;
  readonly agents: readonly string[];
  readonly protocol: "delegation" | "broadcast";
}

/** Per-episode, per-agent facts and scratch state given to every hook. */
export interface HookScope {
  readonly episodeId: string;
  readonly agent: string;
  readonly userPrompt: string;
  /** Whose session this is: a handle (an e-mail address's local part) from the deployment's people, like `emma`. */
  readonly user: string;
  readonly system: SystemInfo;
  readonly tools: readonly ToolDescriptor[];
  /** Per-episode state of one defense, shared by the agents of the episode; created on first use. */
  state<T>(defenseId: string, init: () => T): T;
  /** Every intervention so far in this episode, by any layer on any agent, oldest first. */
  alerts(): readonly Alert[];
  /**
   * Re-runs this agent's current model step with the request replaced by `request` (the rest of its context as it
   * was) and returns the tool calls the model proposes; nothing is executed. Costs one model call; absent where no
   * model step is running (the runtime provides it once the agent has called its model).
   */
  replay?(request: string): Promise<readonly ProposedCall[]>;
}

type Hook<S> = (subject: S, scope: HookScope) => Verdict | Promise<Verdict>;

/** Subjects of each hook, by hook name. */
export interface HookSubjects {
  onUserInput: UserInput;
  onContext: ContextEntry;
  onToolCall: ToolCallRequest;
  onToolResult: ToolResultEvent;
  onMemoryWrite: MemoryWriteRequest;
  onAgentMessage: AgentMessage;
  onCapabilityRequest: CapabilityRequest;
}
export type HookName = keyof HookSubjects;
export const HOOK_NAMES: readonly HookName[] = [
  "onUserInput",
  "onContext",
  "onToolCall",
  "onToolResult",
  "onMemoryWrite",
  "onAgentMessage",
  "onCapabilityRequest",
];

export type DefenseHooks = { readonly [H in HookName]?: Hook<HookSubjects[H]> } & {
  /** Text appended to the agent's system prompt. */
  readonly systemPrompt?: (scope: HookScope) => string | undefined | Promise<string | undefined>;
  /**
   * Whether the agent is given a tool at all, decided before the task starts: a tool not offered is not bound to the
   * model and cannot be called. Configuration, like the system prompt, not an intervention; what it costs shows as
   * tasks that could not be done.
   */
  readonly offersTool?: (tool: ToolDescriptor, scope: HookScope) => boolean | Promise<boolean>;
};

/** A defense layer: a plain object. Its factory recorded `params` so a result row can be rebuilt. */
export interface Defense {
  readonly id: string;
  readonly layer: Layer;
  readonly version: string;
  readonly description: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly hooks: DefenseHooks;
  /**
   * The attack splits a learned layer was trained on (a vaccine's artifact records them): its block rate there is a
   * training score, and reports leave those splits out of its headline numbers.
   */
  readonly trainedOn?: readonly string[];
  /** A layer from outside the repository: a hash of its module's code, or of its service's description. */
  readonly source?: string;
  /** An outside layer that may reach the network: a service always, a module when its configuration allows it. */
  readonly network?: boolean;
}
