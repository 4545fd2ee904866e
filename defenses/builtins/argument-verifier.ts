import { z } from "zod";
import { argumentValues, squash } from "../util/args.ts";
import { allow, askApproval, block, type Defense, type HookScope, SENSITIVITIES } from "../types.ts";

export const ArgumentVerifierParams = z.strictObject({
  /** Tool sensitivities whose arguments are verified. */
  verify: z.array(z.enum(SENSITIVITIES)).default(["destructive", "privileged"]),
  on_violation: z.enum(["ask_approval", "block"]).default("ask_approval"),
});


/**
 * L2 deterministic verifier of tool arguments against the user's request. For calls that destroy or grant, every
 * argument value must be grounded: named in the user's request, or found in trusted content (a contact lookup, the
 * drive) read during the task. A target that only untrusted text names — a file to delete, an account to grant —
 * goes to the human. Short enum-like values (levels, environments) are ignored.
 */
export function argumentVerifier(raw: unknown = {}): Defense {
  const params = ArgumentVerifierParams.parse(raw);
  const id = "argument-verifier";
  const verified = new Set<string>(params.verify);
  const groundOf = (scope: HookScope) => scope.state(id, () => new Map<string, string>());
  const ground = (scope: HookScope) => {
    const map = groundOf(scope);
    if (!map.has(scope.agent)) map.set(scope.agent, squash(scope.userPrompt));
    return map;
  };
  return {
    id,
    layer: "L2",
    version: "1.0.0",
    description: "Deterministic verifier: arguments of destructive and privileged calls must be grounded in the request or trusted content",
    params,
    hooks: {
      onContext(entry, scope) {
        if (entry.provenance.trust === "trusted") {
          const map = ground(scope);
          map.set(scope.agent, `${map.get(scope.agent)}\n${squash(entry.content)}`);
        }
        return allow;
      },
      onToolCall(call, scope) {
        if (!verified.has(call.tool.sensitivity)) return allow;
        const grounded = ground(scope).get(scope.agent)!;
        for (const [arg, value] of Object.entries(call.args)) {
          for (const v of argumentValues(value)) {
            if (v.length < 3 || /^(read|write|admin|staging|production|drive|bank|calendar|reports|viewer|developer)$/i.test(v)) continue;
            if (grounded.includes(squash(v))) continue;
            const reason = `${call.tool.name}.${arg} = ${v} is not grounded in the user's request or trusted content`;
            return params.on_violation === "block" ? block("verifier.ungrounded_argument", reason) : askApproval("verifier.ungrounded_argument", reason);
          }
        }
        return allow;
      },
    },
  };
}
