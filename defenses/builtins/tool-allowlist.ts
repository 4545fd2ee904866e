import { z } from "zod";
import { allow, askApproval, block, type Defense, SENSITIVITIES } from "../types.ts";

export const ToolAllowlistParams = z.strictObject({
  /** Tools whose sensitivity is in this list are always allowed (reading is in scope for any task). */
  always: z.array(z.enum(SENSITIVITIES)).default(["read"]),
  /** Intent rules over the user's prompt: when `pattern` matches (case-insensitive), `tools` are in scope. */
  intents: z.array(z.strictObject({ pattern: z.string().min(1), tools: z.array(z.string().min(1)).min(1) })).min(1),
  on_violation: z.enum(["ask_approval", "block"]).default("ask_approval"),
});

/**
 * L1 task-scoped tool allowlist (capability scoping). The tools a task may use are derived from the user's prompt
 * by intent rules, as a deployment can (never from a plan): "pay the invoice" scopes payments, "email Bob" scopes
 * sending. A call to a tool outside the scope is refused or sent to the human — whatever the model was told.
 */
export function toolAllowlist(raw: unknown = {}): Defense {
  const params = ToolAllowlistParams.parse(raw);
  const rules = params.intents.map((r) => ({ pattern: new RegExp(r.pattern, "i"), tools: new Set(r.tools) }));
  const always = new Set<string>(params.always);
  const id = "tool-allowlist";
  return {
    id,
    layer: "L1",
    version: "1.0.0",
    description: "Task-scoped tool allowlist: only tools the user's request implies may act",
    params,
    hooks: {
      onToolCall(call, scope) {
        if (always.has(call.tool.sensitivity)) return allow;
        const allowed = scope.state(id, () => new Set(rules.filter((r) => r.pattern.test(scope.userPrompt)).flatMap((r) => [...r.tools])));
        if (allowed.has(call.tool.name)) return allow;
        const reason = `${call.tool.name} (${call.tool.sensitivity}) is outside the scope of the user's request`;
        return params.on_violation === "block" ? block("allowlist.out_of_scope", reason) : askApproval("allowlist.out_of_scope", reason);
      },
    },
  };
}
