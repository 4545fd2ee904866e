import { z } from "zod";
import type { Defense } from "../types.ts";
import { RequestScopeParams, requestScope } from "./tool-allowlist.ts";

export const ToolFilterParams = z.strictObject(RequestScopeParams);

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
  const id = "tool-filter";
  return {
    id,
    layer: "L1",
    version: "1.0.0",
    description: "Tool filter: only the tools the user's request needs are offered to the model, before the task starts",
    params,
    hooks: { offersTool: requestScope(params, id) },
  };
}
