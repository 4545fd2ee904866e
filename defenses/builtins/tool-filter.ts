import { z } from "zod";
import { type Defense, SENSITIVITIES } from "../types.ts";
import { CAPABILITY_INTENTS, IntentSchema } from "./tool-allowlist.ts";

export const ToolFilterParams = z.strictObject({
  /** Tools whose sensitivity is in this list are always offered (reading is in scope for any task). */
  always: z.array(z.enum(SENSITIVITIES)).default(["read"]),
  /** Intent rules over the user's prompt: when `pattern` matches (case-insensitive), `tools` are offered. */
  intents: z.array(IntentSchema).min(1).default([...CAPABILITY_INTENTS]),
});

/**
 * L1 tool filter: before the task starts, the agent is given only the tools its request needs — reading tools, and
 * the acting tools the request's intents name (the tool allowlist's rules, from the request, never from a plan).
 * AgentDojo's `tool_filter` asks the model itself to pick the tools from the request; this one decides by rules, as
 * our other L1 layers do, so a model cannot talk its way around it. Unlike the allowlist, which refuses (or asks
 * about) a call to a tool outside the request's scope, the filter never offers the tool: the model cannot try, nothing
 * is refused, and a request it misreads costs the task instead of an approval.
 */
export function toolFilter(raw: unknown = {}): Defense {
  const params = ToolFilterParams.parse(raw);
  const rules = params.intents.map((r) => ({ pattern: new RegExp(r.pattern, "i"), tools: new Set(r.tools) }));
  const always = new Set<string>(params.always);
  const id = "tool-filter";
  return {
    id,
    layer: "L1",
    version: "1.0.0",
    description: "Tool filter: only the tools the user's request needs are offered to the model, before the task starts",
    params,
    hooks: {
      offersTool(tool, scope) {
        if (always.has(tool.sensitivity)) return true;
        const needed = scope.state(id, () => new Set(rules.filter((r) => r.pattern.test(scope.userPrompt)).flatMap((r) => [...r.tools])));
        return needed.has(tool.name);
      },
    },
  };
}
