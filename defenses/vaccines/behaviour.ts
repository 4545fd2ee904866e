import { z } from "zod";
import { argumentValues, squash } from "../util/args.ts";
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
    const targets = (call.tool.sensitivity === "external_sink" && call.tool.destinationArgs.length > 0 ? call.tool.destinationArgs.map((a) => call.args[a]) : Object.values(call.args))
      .flatMap(argumentValues)
      .map(squash)
      .filter((v) => v.length >= 4);
    const originOf = (v: string): Origin => (seen.request.includes(v) ? "request" : seen.trusted.includes(v) ? "trusted" : seen.untrusted.includes(v) ? "untrusted" : "none");
    const rank: Record<Origin, number> = { request: 0, trusted: 1, none: 2, untrusted: 3 };
    const origin = targets.map(originOf).sort((a, b) => rank[b] - rank[a])[0] ?? "none";
    return { tool: call.tool.name, sensitivity: call.tool.sensitivity, origin, afterUntrusted: seen.tainted };
  }
}

const Model = z.strictObject({ patterns: z.array(z.string()) });

/**
 * The behavioural vaccine: it learns what the agent was made to do, not what the text said. From the traces of the
 * seen attacks it takes each attacker action's pattern — tool, risk class, where its target was first named, and
 * whether untrusted content had been read — and keeps the patterns no benign trace of its self half shows. A call
 * with such a pattern is refused, whatever words or encoding drove it.
 */
export const behaviour: Vaccinator = {
  id: "behaviour",
  description: "Patterns of attacker actions (tool, risk, target origin, taint) learned from traces, minus benign patterns",
  depth: "deep",
  learnsFrom: "actions",
  train(data, run) {
    const benign = new Set((data.selfActions ?? []).map(actionKey));
    const patterns = [...new Set((data.attackActions ?? []).map(actionKey))].filter((p) => !benign.has(p)).sort();
    const examples = (data.attackActions ?? []).map(actionKey);
    return {
      vaccinator: this.id,
      version: "1",
      trained_on: { split: run.split, examples: examples.length, hash: trainingHash([...examples, "\u0001", ...(data.selfActions ?? []).map(actionKey)]), seed: run.seed },
      model: { patterns },
    };
  },
  recognizes(raw) {
    const patterns = new Set(Model.parse(raw).patterns);
    return (action) => patterns.has(actionKey(action));
  },
  hooks(raw): DefenseHooks {
    const patterns = new Set(Model.parse(raw).patterns);
    const observer = (scope: HookScope) => scope.state("vaccine:behaviour", () => new ActionObserver());
    return {
      onContext(entry, scope) {
        observer(scope).context(entry, scope);
        return allow;
      },
      onToolCall(call, scope) {
        const action = observer(scope).action(call, scope);
        const key = actionKey(action);
        return patterns.has(key) ? block("vaccine.behaviour", `${call.tool.name} on a target ${action.origin === "untrusted" ? "only untrusted content named" : `from ${action.origin}`} matches a learned attack pattern`) : allow;
      },
    };
  },
};
