import { z } from "zod";
import { argumentValues } from "../util/args.ts";
import { allow, askApproval, block, type Defense, type HookScope, SENSITIVITIES } from "../types.ts";

export const GoalConsistencyParams = z.strictObject({
  /** Tool sensitivities whose calls must serve the declared goal. */
  check: z.array(z.enum(SENSITIVITIES)).default(["write", "external_sink", "destructive", "privileged"]),
  on_violation: z.enum(["ask_approval", "block"]).default("ask_approval"),
});

const IDENTIFIERS = /[\w.+-]+@[\w.-]+\w|https?:\/\/\S+\w|\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b/g;
const STOP = new Set("the and for with from into that this what your my our please also then when have will about their them".split(" "));

/**
 * The goal's anchors: what the user's request names — people and organisations (capitalised words), identifiers
 * (INV-2041, OPS-106, 2.4.1), paths, addresses, URLs and numbers — lower-cased.
 */
export function goalAnchors(prompt: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of prompt.matchAll(/[\w.+-]+@[\w.-]+\w|https?:\/\/\S+\w|[\w-]+\/[\w./-]+\w|\b[A-Z]{2,}-\d+\b|\b\d+(?:[.,]\d+)+\b|\b\d{3,}\b/g)) anchors.add(m[0].toLowerCase());
  for (const m of prompt.matchAll(/\b[A-Z][a-zA-Z]{2,}\b/g)) if (!STOP.has(m[0].toLowerCase())) anchors.add(m[0].toLowerCase());
  for (const m of prompt.matchAll(/\b[a-z]{4,}\b/g)) if (!STOP.has(m[0])) anchors.add(m[0]);
  return anchors;
}

/**
 * L4 goal-consistency check. The declared goal is the user's request; an action serves it when what it acts on —
 * its destinations for a sink, all its arguments otherwise — touches something the request names (a person, an
 * identifier, a path, an amount) or something trusted content about the task named. An action on something the
 * request never mentions (a file to delete, an outside address, a new admin) is not the user's.
 */
export function goalConsistency(raw: unknown = {}): Defense {
  const params = GoalConsistencyParams.parse(raw);
  const id = "goal-consistency";
  const checked = new Set<string>(params.check);
  const anchorsOf = (scope: HookScope) => {
    const byAgent = scope.state(id, () => new Map<string, Set<string>>());
    let anchors = byAgent.get(scope.agent);
    if (!anchors) byAgent.set(scope.agent, (anchors = goalAnchors(scope.userPrompt)));
    return anchors;
  };
  return {
    id,
    layer: "L4",
    version: "1.0.0",
    description: "Goal-consistency check: an action must act on something the user's request names",
    params,
    hooks: {
      onContext(entry, scope) {
        // Trusted content about the task (a contact lookup, the payee list) names the request's objects too.
        if (entry.provenance.trust === "trusted") for (const m of entry.content.matchAll(IDENTIFIERS)) anchorsOf(scope).add(m[0].toLowerCase());
        return allow;
      },
      onToolCall(call, scope) {
        if (!checked.has(call.tool.sensitivity)) return allow;
        const anchors = anchorsOf(scope);
        const targets = call.tool.sensitivity === "external_sink" && call.tool.destinationArgs.length > 0 ? call.tool.destinationArgs.map((a) => call.args[a]) : Object.values(call.args);
        const texts = targets.flatMap(argumentValues).map((v) => v.toLowerCase());
        const serves = texts.some((t) => [...anchors].some((a) => t.includes(a) || (a.length >= 6 && a.includes(t))));
        if (serves || texts.length === 0) return allow;
        const reason = `${call.tool.name} acts on ${texts.join(", ").slice(0, 120)}, which the request never mentions`;
        return params.on_violation === "block" ? block("goal.inconsistent", reason) : askApproval("goal.inconsistent", reason);
      },
    },
  };
}
