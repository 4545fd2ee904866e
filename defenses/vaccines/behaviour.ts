import { z } from "zod";
import { argumentValues, isProse, squash } from "../util/args.ts";
import { allow, block, type ContextEntry, type DefenseHooks, type HookScope, type ToolCallRequest } from "../types.ts";
import { type Action, type Origin, trainingHash, type Vaccinator } from "./artifact.ts";

export const actionKey = (a: Action) => `${a.tool}|${a.sensitivity}|${a.origin}|${a.afterUntrusted ? "tainted" : "clean"}`;

/**
 * Follows one agent's context and describes its tool calls as {@link Action}s. The training recorder and the
 * vaccine layer share it, so what is learned is what is later checked.
 */
export class ActionObserver {
  private readonly byAgent = new Map<string, { request: string; trusted: string; untrusted: string; tainted: boolean }>();

  private of(scope: HookScope) {
    let seen = this.byAgent.get(scope.agent);
    if (!seen) this.byAgent.set(scope.agent, (seen = { request: squash(scope.userPrompt), trusted: "", untrusted: "", tainted: false }));
    return seen;
  }

  context(entry: ContextEntry, scope: HookScope): void {
    const seen = this.of(scope);
    if (entry.provenance.trust === "trusted") seen.trusted += `\n${squash(entry.content)}`;
    else {
      seen.untrusted += `\n${squash(entry.content)}`;
      seen.tainted = true;
    }
  }

  action(call: ToolCallRequest, scope: HookScope): Action {
    const seen = this.of(scope);
    // A call's targets: where it sends, else what it acts on (a path, an id), not the prose it carries; a call with
    // nothing but prose is judged by its prose.
    const values = (args: readonly unknown[]) => args.flatMap(argumentValues).map(squash).filter((v) => v.length >= 4);
    const named = values(call.tool.destinationArgs.length > 0 ? call.tool.destinationArgs.map((a) => call.args[a]) : Object.entries(call.args).filter(([k, v]) => !isProse(k, v)).map(([, v]) => v));
    const targets = named.length > 0 ? named : values(Object.values(call.args));
    const originOf = (v: string): Origin => (seen.request.includes(v) ? "request" : seen.trusted.includes(v) ? "trusted" : seen.untrusted.includes(v) ? "untrusted" : "none");
    const rank: Record<Origin, number> = { request: 0, trusted: 1, none: 2, untrusted: 3 };
    const origin = targets.map(originOf).sort((a, b) => rank[b] - rank[a])[0] ?? "none";
    return { tool: call.tool.name, sensitivity: call.tool.sensitivity, origin, afterUntrusted: seen.tainted };
  }
}

/** What distinguishes one action vaccinator from another: how it keys an action, and how it names a refusal. */
export interface ActionVaccinatorSpec {
  readonly id: string;
  readonly description: string;
  /** The artifact's field that lists the learned keys. */
  readonly field: string;
  readonly key: (action: Action) => string;
  /** Keys that may be learned at all (default: every key). */
  readonly learnable?: (key: string) => boolean;
  readonly reason: (tool: string, action: Action) => string;
}

/**
 * A vaccinator that learns from traces: the keys of the seen attacks' actions that no benign action of its self
 * half shares; a call whose action has a learned key is refused.
 */
export function actionVaccinator(spec: ActionVaccinatorSpec): Vaccinator {
  const Model = z.strictObject({ [spec.field]: z.array(z.string()) });
  const learned = (raw: Readonly<Record<string, unknown>>) => new Set(Model.parse(raw)[spec.field] as string[]);
  return {
    id: spec.id,
    description: spec.description,
    depth: "deep",
    learnsFrom: "actions",
    train(data, run) {
      const benign = new Set((data.selfActions ?? []).map(spec.key));
      const examples = (data.attackActions ?? []).map(spec.key);
      const keys = [...new Set(examples)].filter((k) => !benign.has(k) && (spec.learnable?.(k) ?? true)).sort();
      return {
        vaccinator: spec.id,
        version: "1",
        trained_on: { split: run.split, examples: examples.length, hash: trainingHash([...examples, "\u0001", ...(data.selfActions ?? []).map(spec.key)]), seed: run.seed },
        model: { [spec.field]: keys },
      };
    },
    recognizes(raw) {
      const keys = learned(raw);
      return (action) => keys.has(spec.key(action));
    },
    hooks(raw): DefenseHooks {
      const keys = learned(raw);
      const observer = (scope: HookScope) => scope.state(`vaccine:${spec.id}`, () => new ActionObserver());
      return {
        onContext(entry, scope) {
          observer(scope).context(entry, scope);
          return allow;
        },
        onToolCall(call, scope) {
          const action = observer(scope).action(call, scope);
          return keys.has(spec.key(action)) ? block(`vaccine.${spec.id}`, spec.reason(call.tool.name, action)) : allow;
        },
      };
    },
  };
}

const target = (action: Action) => (action.origin === "untrusted" ? "only untrusted content named" : `from ${action.origin}`);

/**
 * The behavioural vaccine: it learns what the agent was made to do, not what the text said. From the traces of the
 * seen attacks it takes each attacker action's pattern — tool, risk class, where its target was first named, and
 * whether untrusted content had been read — and keeps the patterns no benign trace of its self half shows. A call
 * with such a pattern is refused, whatever words or encoding drove it.
 */
export const behaviour = actionVaccinator({
  id: "behaviour",
  description: "Patterns of attacker actions (tool, risk, target origin, taint) learned from traces, minus benign patterns",
  field: "patterns",
  key: actionKey,
  reason: (tool, action) => `${tool} on a target ${target(action)} matches a learned attack pattern`,
});

/** An action by its effect alone: the risk class, where its target was first named, whether untrusted content was read. */
export const effectKey = (a: Action) => `${a.sensitivity}|${a.origin}|${a.afterUntrusted ? "tainted" : "clean"}`;

/**
 * The effect vaccine: what an attack makes the agent do, whatever tool does it. From the traces of the seen
 * attacks it keeps each attacker action's effect — its risk class (an outside sink, a destructive or privileged
 * call), where its target was first named (only in untrusted content, nowhere the agent read) and whether untrusted
 * content had been read — and drops every effect benign work of its self half shows, and reading. Unlike
 * `behaviour` it forgets the tool's name, so a learned effect is refused on a tool, or a suite, no incident involved.
 */
export const effect = actionVaccinator({
  id: "effect",
  description: "Effects of attacker actions (risk class, target origin, taint) learned from traces, minus benign effects; any tool",
  field: "effects",
  key: effectKey,
  learnable: (key) => !key.startsWith("read|"),
  reason: (tool, action) => `${tool} (${action.sensitivity}) on a target ${target(action)} has the effect of a learned attack`,
});
