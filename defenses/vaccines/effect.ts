import { z } from "zod";
import { allow, block, type DefenseHooks, type HookScope } from "../types.ts";
import { type Action, trainingHash, type Vaccinator } from "./artifact.ts";
import { ActionObserver } from "./behaviour.ts";

/** An action by its effect alone: the risk class, where its target was first named, whether untrusted content was read. */
export const effectKey = (a: Action) => `${a.sensitivity}|${a.origin}|${a.afterUntrusted ? "tainted" : "clean"}`;

const Model = z.strictObject({ effects: z.array(z.string()) });

/**
 * The effect vaccine: what an attack makes the agent do, whatever tool does it. From the traces of the seen
 * attacks it keeps each attacker action's effect — its risk class (an outside sink, a destructive or privileged
 * call), where its target was first named (only in untrusted content, nowhere the agent read) and whether untrusted
 * content had been read — and drops every effect benign work of its self half shows. Unlike `behaviour` it forgets
 * the tool's name, so a learned effect is refused on a tool, or a suite, no incident involved.
 */
export const effect: Vaccinator = {
  id: "effect",
  description: "Effects of attacker actions (risk class, target origin, taint) learned from traces, minus benign effects; any tool",
  depth: "deep",
  learnsFrom: "actions",
  train(data, run) {
    const benign = new Set((data.selfActions ?? []).map(effectKey));
    const effects = [...new Set((data.attackActions ?? []).map(effectKey))].filter((e) => !benign.has(e) && !e.startsWith("read|")).sort();
    const examples = (data.attackActions ?? []).map(effectKey);
    return {
      vaccinator: this.id,
      version: "1",
      trained_on: { split: run.split, examples: examples.length, hash: trainingHash([...examples, "\u0001", ...(data.selfActions ?? []).map(effectKey)]), seed: run.seed },
      model: { effects },
    };
  },
  recognizes(raw) {
    const effects = new Set(Model.parse(raw).effects);
    return (action) => effects.has(effectKey(action));
  },
  hooks(raw): DefenseHooks {
    const effects = new Set(Model.parse(raw).effects);
    const observer = (scope: HookScope) => scope.state("vaccine:effect", () => new ActionObserver());
    return {
      onContext(entry, scope) {
        observer(scope).context(entry, scope);
        return allow;
      },
      onToolCall(call, scope) {
        const action = observer(scope).action(call, scope);
        return effects.has(effectKey(action))
          ? block("vaccine.effect", `${call.tool.name} (${action.sensitivity}) on a target ${action.origin === "untrusted" ? "only untrusted content named" : `from ${action.origin}`} has the effect of a learned attack`)
          : allow;
      },
    };
  },
};
