import { z } from "zod";
import { allow, askApproval, block, type Defense, type HookScope, SENSITIVITIES, type ToolDescriptor } from "../types.ts";
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

/** What scopes a request's tools: shared by the allowlist, which refuses a call outside it, and the tool filter. */
export const RequestScopeParams = {
  /** Tools whose sensitivity is in this list are always in scope (reading is in scope for any task). */
  always: z.array(z.enum(SENSITIVITIES)).default(["read"]),
  /** Intent rules over the user's prompt: when `pattern` matches (case-insensitive), `tools` are in scope. */
  intents: z.array(IntentSchema).min(1).default([...CAPABILITY_INTENTS]),
};

/** Whether a tool is in the scope of the episode's request, the request's intents worked out once per episode. */
export function requestScope(params: { always: readonly string[]; intents: readonly { pattern: string; tools: readonly string[] }[] }, id: string) {
  const rules = params.intents.map((r) => ({ pattern: new RegExp(r.pattern, "i"), tools: new Set(r.tools) }));
  const always = new Set<string>(params.always);
  return (tool: ToolDescriptor, scope: HookScope): boolean =>
    always.has(tool.sensitivity) || scope.state(id, () => new Set(rules.filter((r) => r.pattern.test(scope.userPrompt)).flatMap((r) => [...r.tools]))).has(tool.name);
}

export const ToolAllowlistParams = z.strictObject({
  ...RequestScopeParams,
  on_violation: z.enum(["ask_approval", "block"]).default("ask_approval"),
});

/**
 * L1 task-scoped tool allowlist (capability scoping). The tools a task may use are derived from the user's prompt
 * by intent rules, as a deployment can (never from a plan): "pay the invoice" scopes payments, "email Bob" scopes
 * sending. A call to a tool outside the scope is refused or sent to the human — whatever the model was told.
 */
export function toolAllowlist(raw: unknown = {}): Defense {
  const params = ToolAllowlistParams.parse(raw);
  const id = "tool-allowlist";
  const inScope = requestScope(params, id);
  return {
    id,
    layer: "L1",
    version: "2.0.0",
    description: "Task-scoped tool allowlist: only tools the user's request implies may act",
    params,
    hooks: {
      onToolCall(call, scope) {
        if (inScope(call.tool, scope)) return allow;
        const reason = `${call.tool.name} (${call.tool.sensitivity}) is outside the scope of the user's request`;
        return params.on_violation === "block" ? block("allowlist.out_of_scope", reason) : askApproval("allowlist.out_of_scope", reason);
      },
    },
  };
}
