import { z } from "zod";

/**
 * AgentDojo's run log (`runs/<pipeline>/<suite>/<user_task>/<attack>/<injection_task>.json`), as its
 * `agentdojo.logging` writes it: benchmark v1.1.2 (2024) and v1.2.1 (2025, content as a list of text blocks). The
 * importer reads only what is declared here; fields AgentDojo adds later are let through, fields it relies on are
 * checked, so a file from elsewhere is named with what is wrong instead of imported half-read.
 */

/** A message's content: a string (v1.1), a list of text blocks (v1.2), or null (an assistant turn with calls only). */
const Content = z.union([z.string(), z.array(z.looseObject({ type: z.string(), content: z.string().nullable().optional() })), z.null()]);

const ToolCall = z.looseObject({
  function: z.string(),
  args: z.record(z.string(), z.unknown()),
  id: z.string().nullable().optional(),
});

const SystemMessage = z.looseObject({ role: z.literal("system"), content: Content });
const UserMessage = z.looseObject({ role: z.literal("user"), content: Content });
const AssistantMessage = z.looseObject({
  role: z.literal("assistant"),
  content: Content,
  tool_calls: z.array(ToolCall).nullable().optional(),
});
const ToolMessage = z.looseObject({
  role: z.literal("tool"),
  content: Content,
  tool_call_id: z.string().nullable().optional(),
  /** The call this output answers; AgentDojo repeats it here. */
  tool_call: ToolCall.nullable().optional(),
  /** The tool's own error (a bad argument, an unknown id): the model reads it as the output. */
  error: z.string().nullable().optional(),
});

export const AgentDojoMessage = z.discriminatedUnion("role", [SystemMessage, UserMessage, AssistantMessage, ToolMessage]);
export type AgentDojoMessage = z.infer<typeof AgentDojoMessage>;

export const AgentDojoLog = z.looseObject({
  suite_name: z.string().min(1),
  pipeline_name: z.string().min(1),
  user_task_id: z.string().min(1),
  /** Null for the runs without attack (`none/none.json`). */
  injection_task_id: z.string().min(1).nullable(),
  attack_type: z.string().min(1).nullable(),
  /** Injection vector id → the exact text planted in the environment. */
  injections: z.record(z.string(), z.string()),
  messages: z.array(AgentDojoMessage),
  /** The API failure that ended the run, or null. */
  error: z.string().nullable(),
  duration: z.number().nullable().optional(),
  utility: z.boolean(),
  /** True when the attacker's goal was reached. AgentDojo writes true for runs without attack too: it means nothing there. */
  security: z.boolean(),
  benchmark_version: z.string().nullable().optional(),
  evaluation_timestamp: z.string().nullable().optional(),
});
export type AgentDojoLog = z.infer<typeof AgentDojoLog>;

/** A message's text, whatever form its content took. */
export function textOf(content: z.infer<typeof Content>): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content.map((block) => block.content ?? "").join("\n");
}

/** Where one log sits in the layout: the last five parts of its path. */
export interface LogPlace {
  readonly pipeline: string;
  readonly suite: string;
  readonly userTask: string;
  readonly attack: string;
  readonly injectionTask: string;
}

/** The layout's five parts of a path (`/` separated), or null when the path is not a run log's. */
export function placeOf(path: string): LogPlace | null {
  const parts = path.split("/").filter((p) => p.length > 0 && p !== ".");
  if (parts.length < 5 || !parts.at(-1)!.endsWith(".json")) return null;
  const [pipeline, suite, userTask, attack, file] = parts.slice(-5) as [string, string, string, string, string];
  return { pipeline, suite, userTask, attack, injectionTask: file.slice(0, -".json".length) };
}

/**
 * Parses one log and checks it against its place in the layout. Returns the log, or the one-line reason it is not
 * one (JSON syntax, the first few format issues with their paths, or a field that contradicts the path).
 */
export function parseLog(bytes: Uint8Array, place: LogPlace): { log: AgentDojoLog } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    return { problem: error instanceof TypeError ? "not UTF-8 text" : `not valid JSON (${(error as Error).message})` };
  }
  const parsed = AgentDojoLog.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const shown = issues.slice(0, 3).map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
    return { problem: `not an AgentDojo run log: ${shown.join("; ")}${issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""}` };
  }
  const log = parsed.data;
  const contradictions = [
    log.suite_name !== place.suite && `suite_name "${log.suite_name}" but the folder is ${place.suite}`,
    log.user_task_id !== place.userTask && `user_task_id "${log.user_task_id}" but the folder is ${place.userTask}`,
    (log.injection_task_id ?? "none") !== place.injectionTask && `injection_task_id "${log.injection_task_id}" but the file is ${place.injectionTask}.json`,
    (log.attack_type ?? "none") !== place.attack && log.injection_task_id !== null && `attack_type "${log.attack_type}" but the folder is ${place.attack}`,
    log.injection_task_id === null && place.attack !== "none" && `no injection task in the attack folder ${place.attack}`,
  ].filter((c): c is string => typeof c === "string");
  if (contradictions.length > 0) return { problem: `contradicts its place in the layout: ${contradictions.join("; ")}` };
  return { log };
}
