import type { Deployment } from "./deployment.ts";
import { type AgentDojoLog, type LogPlace, textOf } from "./format.ts";
import { assembleRows, type LogRows, type Step } from "./rows.ts";

/**
 * One AgentDojo log as trajectory rows. The pipeline's own defense is undone where the log lets it be: the
 * delimiters spotlighting put around each output are taken off (`tool_text` is what the tool returned); an output
 * a detector replaced by its notice is `withheld`, its original unknown.
 */
export function rowsOfLog(log: AgentDojoLog, place: LogPlace, path: string, deployment: Deployment): LogRows {
  const { model, defense } = deployment.pipeline(place.pipeline);
  const own = deployment.file.defenses[defense];
  const messages = log.messages;
  const systemMessage = messages.find((m) => m.role === "system");
  const steps: Step[] = messages.flatMap((message, position): Step[] => {
    if (message.role === "assistant") return [{ kind: "turn", position }, ...(message.tool_calls ?? []).map((c) => ({ kind: "call" as const, position, tool: c.function, args: c.args }))];
    if (message.role !== "tool") return [];
    const text = textOf(message.content);
    const withheld = own?.notice !== undefined && text.trim() === own.notice;
    const wrapper = own?.wrapper;
    const toolText = withheld ? null : wrapper && text.startsWith(wrapper[0]) && text.endsWith(wrapper[1]) ? text.slice(wrapper[0].length, text.length - wrapper[1].length) : text;
    return [{ kind: "output", position, tool: message.tool_call?.function, args: message.tool_call?.args, text, toolText, withheld, error: message.error ?? null }];
  });
  return assembleRows(
    {
      run_id: `${deployment.file.source}:${place.pipeline}/${place.suite}/${place.userTask}/${place.attack}/${place.injectionTask}`,
      source: deployment.file.source,
      pipeline: place.pipeline,
      model,
      defense,
      suite: place.suite,
      user_task: place.userTask,
      // AgentDojo runs each injection task alone, as the user's request, to check it can be done.
      task_kind: place.userTask.startsWith("injection_task") ? "injection" : "user",
      injection_task: log.injection_task_id,
      attack: log.attack_type ?? "none",
      benchmark_version: log.benchmark_version ?? null,
      utility: log.utility,
      security: log.injection_task_id !== null ? log.security : null,
      error: log.error,
      duration_s: log.duration ?? null,
      user_prompt: textOf(messages.find((m) => m.role === "user")?.content ?? null),
      system_prompt: systemMessage ? textOf(systemMessage.content) : null,
      injections: log.injections,
      path,
    },
    steps,
    (name) => deployment.tool(place.suite, name),
  );
}
