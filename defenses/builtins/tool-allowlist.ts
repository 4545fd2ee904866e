import { z } from "zod";
import { allow, askApproval, block, type Defense, SENSITIVITIES } from "../types.ts";
import capabilityIntents from "./capability-intents.json" with { type: "json" };

export const IntentSchema = z.strictObject({
  /** What the rule scopes, in a word or two ("paying money"). */
  capability: z.string().min(1).optional(),
  pattern: z.string().min(1),
  tools: z.array(z.string().min(1)).min(1),
});

/**
 * The shipped intent rules (capability-intents.json): one per capability, in general language — the verbs and nouns
 * by which people ask for paying, sending, deleting, granting — never words of one task's prompt. Tested on requests
 * written for no task of the suites (tool-allowlist.test.ts).
 */
export const CAPABILITY_INTENTS: readonly z.infer<typeof IntentSchema>[] = z.array(IntentSchema).min(1).parse(capabilityIntents);

export const ToolAllowlistParams = z.strictObject({
  /** Tools whose sensitivity is in this list are always allowed (reading is in scope for any task). */
  always: z.array(z.enum(SENSITIVITIES)).default(["read"]),
  /** Intent rules over the user's prompt: when `pattern` matches (case-insensitive), `tools` are in scope. */
  intents: z.array(IntentSchema).min(1).default([...CAPABILITY_INTENTS]),
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
    version: "2.0.0",
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
