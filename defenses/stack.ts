import type { Approver } from "./approver.ts";
import { AuditLog } from "./audit.ts";
import { keepsInformation } from "./util/reading.ts";
import type { Alert, Defense, HookName, HookScope, HookSubjects, ProposedCall, SystemInfo, ToolDescriptor, Verdict } from "./types.ts";

/** A defense hook threw or answered something invalid. The episode is an error, never a block. */
export class DefenseError extends Error {
  readonly code = "defense_error";
  constructor(
    readonly defense: string,
    readonly hook: HookName | "offersTool" | "systemPrompt",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`defense ${defense} failed in ${hook}: ${message}`, options);
    this.name = "DefenseError";
  }
}

/** What the stack decided for one subject. `content` is the text after any transforms. */
export type StackOutcome =
  | { readonly passed: true; readonly content: string | undefined }
  | {
      readonly passed: false;
      readonly verdict: "block" | "quarantine" | "denied";
      readonly code: string;
      readonly reason: string;
      readonly defense: string;
    };

/** Subjects whose text a `transform` verdict may replace. */
const TEXT_FIELD: { readonly [H in HookName]: string | null } = {
  onUserInput: "text",
  onContext: "content",
  onToolCall: null,
  onToolResult: "content",
  onMemoryWrite: "text",
  onAgentMessage: "content",
  onCapabilityRequest: null,
};

/** How long a hook's promise may take before the layer counts as failed (a `defense_error`; the run goes on). */
export const HOOK_DEADLINE_MS = 30_000;

/**
 * A view no layer can change: plain data copied and frozen all the way down, so a layer changes what the others
 * see only through a verdict. Functions and class instances are kept as they are (subjects carry none).
 */
function frozenView<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Object.isFrozen(value)) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(frozenView)) as T;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) copy[k] = frozenView(v);
  return Object.freeze(copy) as T;
}

/** The verdict of a hook, or a failure when its promise has not settled by the deadline. */
function withDeadline<T>(verdict: T | Promise<T>, deadlineMs: number): T | Promise<T> {
  if (typeof (verdict as { then?: unknown } | null)?.then !== "function") return verdict;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no verdict within ${deadlineMs / 1000} s`)), deadlineMs);
  });
  return Promise.race([verdict, late]).finally(() => clearTimeout(timer));
}

/**
 * The one choke point: runs the configured layers, in order, on every hook, and interprets their verdicts.
 * - `allow` passes to the next layer; `transform` replaces the text and passes on;
 * - `ask_approval` asks the approver: approved passes on, refused stops (`denied`);
 * - `block` and `quarantine` stop at once; later layers do not run.
 * Every non-allow verdict is recorded in the audit log. A layer that throws makes a {@link DefenseError}.
 * One stack serves one episode (all agents of it): layers keep per-episode state through the scope.
 */
export class DefenseStack {
  readonly audit: AuditLog;
  /** Time spent inside defense hooks, in microseconds. */
  overheadMicros = 0;
  private readonly state = new Map<string, unknown>();

  constructor(
    readonly layers: readonly Defense[],
    private readonly approver: Approver,
    private readonly episode: { readonly episodeId: string; readonly userPrompt: string; readonly user?: string; readonly system?: SystemInfo },
    audit?: AuditLog,
    private readonly hookDeadlineMs = HOOK_DEADLINE_MS,
  ) {
    this.audit = audit ?? new AuditLog();
  }

  /** The scope handed to hooks for one agent of the episode; `replay` re-runs that agent's current model step. */
  scope(agent: string, tools: readonly ToolDescriptor[], replay?: (request: string) => Promise<readonly ProposedCall[]>): HookScope {
    const state = this.state;
    const audit = this.audit;
    return {
      episodeId: this.episode.episodeId,
      userPrompt: this.episode.userPrompt,
      user: this.episode.user ?? "user",
      system: frozenView(this.episode.system ?? { name: "single", agents: [agent], protocol: "delegation" }),
      agent,
      tools: frozenView(tools),
      state<T>(defenseId: string, init: () => T): T {
        if (!state.has(defenseId)) state.set(defenseId, init());
        return state.get(defenseId) as T;
      },
      alerts: () => audit.entries as readonly Alert[],
      replay,
    };
  }

  /** The tools every layer offers this agent, in their order, and the ones a layer withheld (by that layer). */
  async offeredTools(tools: readonly ToolDescriptor[], scope: HookScope): Promise<{ offered: ToolDescriptor[]; withheld: { tool: string; defense: string }[] }> {
    const offered: ToolDescriptor[] = [];
    const withheld: { tool: string; defense: string }[] = [];
    for (const tool of tools) {
      let refusing: Defense | undefined;
      for (const layer of this.layers) {
        if (!layer.hooks.offersTool) continue;
        if ((await this.ask(layer, "offersTool", () => layer.hooks.offersTool!(frozenView(tool), scope))) === false) {
          refusing = layer;
          break;
        }
      }
      if (refusing) withheld.push({ tool: tool.name, defense: refusing.id });
      else offered.push(tool);
    }
    return { offered, withheld };
  }

  async systemPrompt(scope: HookScope): Promise<string[]> {
    const parts: string[] = [];
    for (const layer of this.layers) {
      if (!layer.hooks.systemPrompt) continue;
      const text = await this.ask(layer, "systemPrompt", () => layer.hooks.systemPrompt!(scope));
      if (text) parts.push(text);
    }
    return parts;
  }

  /** One answer of one layer, by its deadline; a throw or a late answer is the layer's failure, timed as defense work. */
  private async ask<T>(layer: Defense, hook: DefenseError["hook"], answer: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await withDeadline(answer(), this.hookDeadlineMs);
    } catch (error) {
      throw new DefenseError(layer.id, hook, error instanceof Error ? error.message : String(error), { cause: error });
    } finally {
      this.overheadMicros += (performance.now() - started) * 1000;
    }
  }

  async check<H extends HookName>(hook: H, subject: HookSubjects[H], scope: HookScope): Promise<StackOutcome> {
    const textField = TEXT_FIELD[hook];
    let current = subject;
    let viewed = false;
    for (const layer of this.layers) {
      const fn = layer.hooks[hook] as ((s: HookSubjects[H], sc: HookScope) => Verdict | Promise<Verdict>) | undefined;
      if (!fn) continue;
      // Copied only when some layer reads it: most hooks of most configurations have none.
      if (!viewed) {
        current = frozenView(current);
        viewed = true;
      }
      const subject = current;
      const verdict = await this.ask(layer, hook, () => fn(subject, scope));
      if (verdict.kind === "allow") continue;
      const record = {
        agent: scope.agent,
        layer: layer.layer,
        defense: layer.id,
        hook,
        verdict: verdict.kind,
        code: verdict.code,
        reason: verdict.reason,
        source: sourceOf(current),
        tool: toolOf(current),
        evidence: verdict.evidence ?? null,
      };
      switch (verdict.kind) {
        case "transform": {
          if (textField === null) throw new DefenseError(layer.id, hook, `transform is not valid on ${hook}`);
          const before = (current as unknown as Record<string, string>)[textField]!;
          current = Object.freeze({ ...current, [textField]: verdict.content }) as unknown as HookSubjects[H];
          this.audit.record({ ...record, approved: null, keeps_information: keepsInformation(before, verdict.content) });
          continue;
        }
        case "ask_approval": {
          const approved = this.approver.decide({ hook, subject: current, agent: scope.agent, code: verdict.code, reason: verdict.reason });
          this.audit.record({ ...record, approved, keeps_information: null });
          if (approved) continue;
          return { passed: false, verdict: "denied", code: verdict.code, reason: verdict.reason, defense: layer.id };
        }
        case "block":
        case "quarantine":
          this.audit.record({ ...record, approved: null, keeps_information: null });
          return { passed: false, verdict: verdict.kind, code: verdict.code, reason: verdict.reason, defense: layer.id };
        default:
          throw new DefenseError(layer.id, hook, `unknown verdict ${JSON.stringify(verdict)}`);
      }
    }
    return { passed: true, content: textField === null ? undefined : ((current as unknown as Record<string, unknown>)[textField] as string) };
  }
}

function sourceOf(subject: object): string {
  if ("provenance" in subject) return (subject as { provenance: { source: string } }).provenance.source;
  if ("tool" in subject) return `tool:${(subject as { tool: ToolDescriptor }).tool.name}`;
  if ("call" in subject) return `tool:${(subject as { call: { tool: ToolDescriptor } }).call.tool.name}`;
  return "user";
}

function toolOf(subject: object): string | null {
  if ("tool" in subject) return (subject as { tool: ToolDescriptor }).tool.name;
  const call = (subject as { call?: { tool: ToolDescriptor } }).call;
  return call ? call.tool.name : null;
}
