import { attackerValueIn, attackerValues, carries, carriesPart, plantedRuns, realisesGoal, wordsOf } from "./attacker.ts";
import type { Deployment } from "./deployment.ts";
import { type AgentDojoLog, type LogPlace, textOf } from "./format.ts";
import type { ModelCallRow, ToolOutputRow, TrajectoryRunRow } from "./tables.ts";

export interface LogRows {
  readonly run: TrajectoryRunRow;
  readonly outputs: readonly ToolOutputRow[];
  readonly calls: readonly ModelCallRow[];
}

/** A stable JSON text of call arguments: keys sorted, so equal arguments are equal text. */
export function argsJson(args: Readonly<Record<string, unknown>>): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sort(x)])) : v;
  return JSON.stringify(sort(args));
}

/**
 * One AgentDojo log as trajectory rows. The pipeline's own defense is undone where the log lets it be: the
 * delimiters spotlighting put around each output are taken off (`tool_text` is what the tool returned); an output
 * a detector replaced by its notice is `withheld`, its original unknown.
 */
export function rowsOfLog(log: AgentDojoLog, place: LogPlace, path: string, deployment: Deployment): LogRows {
  const source = deployment.file.source;
  const runId = `${source}:${place.pipeline}/${place.suite}/${place.userTask}/${place.attack}/${place.injectionTask}`;
  const { model, defense } = deployment.pipeline(place.pipeline);
  const own = deployment.file.defenses[defense];
  const messages = log.messages;
  const attacked = log.injection_task_id !== null;
  const planted = Object.values(log.injections);
  const plantedWords = attacked ? planted.map(wordsOf) : [];
  const runsOfPlanted = plantedRuns(plantedWords);
  const request = textOf(messages.find((m) => m.role === "user")?.content ?? null);
  const systemMessage = messages.find((m) => m.role === "system");
  const system = systemMessage ? textOf(systemMessage.content) : null;
  const values = attacked ? attackerValues(planted, `${request}\n${system ?? ""}`) : [];
  const lastAssistant = messages.findLastIndex((m) => m.role === "assistant");

  const outputs: ToolOutputRow[] = [];
  const calls: ModelCallRow[] = [];
  const pending: number[] = [];
  let injectedSeen = false;
  messages.forEach((message, position) => {
    if (message.role === "assistant") {
      for (const call of message.tool_calls ?? []) {
        const descriptor = deployment.tool(place.suite, call.function);
        const value = attacked ? attackerValueIn(call.args, values) : null;
        pending.push(calls.length);
        calls.push({
          run_id: runId,
          position,
          call_seq: calls.length,
          tool: call.function,
          args: argsJson(call.args),
          sensitivity: descriptor?.sensitivity ?? null,
          attacker_value: value?.value ?? null,
          goal_call: attacked ? realisesGoal(value, descriptor?.sensitivity ?? null) : null,
          after_injection: injectedSeen,
        });
      }
    } else if (message.role === "tool") {
      const text = textOf(message.content);
      const call = message.tool_call ?? null;
      const callSeq = pending.shift() ?? null;
      const tool = call?.function ?? (callSeq !== null ? calls[callSeq]!.tool : "");
      const withheld = own?.notice !== undefined && text.trim() === own.notice;
      const wrapper = own?.wrapper;
      const toolText = withheld ? null : wrapper && text.startsWith(wrapper[0]) && text.endsWith(wrapper[1]) ? text.slice(wrapper[0].length, text.length - wrapper[1].length) : text;
      const words = toolText === null ? null : wordsOf(toolText);
      const injected = words === null ? null : attacked && carries(words, plantedWords);
      const partial = words === null ? null : !injected && carriesPart(words, runsOfPlanted);
      const saw = position < lastAssistant;
      if (injected && saw) injectedSeen = true;
      outputs.push({
        run_id: runId,
        position,
        call_seq: callSeq,
        tool,
        args: argsJson(call?.args ?? (callSeq !== null ? JSON.parse(calls[callSeq]!.args) : {})),
        text,
        tool_text: toolText,
        withheld,
        trust: deployment.tool(place.suite, tool)?.source ?? null,
        carries_injection: injected,
        carries_part: partial,
        model_saw: saw,
        tool_error: message.error ?? null,
      });
    }
  });

  const run: TrajectoryRunRow = {
    run_id: runId,
    source,
    pipeline: place.pipeline,
    model,
    defense,
    suite: place.suite,
    user_task: place.userTask,
    task_kind: place.userTask.startsWith("injection_task") ? "injection" : "user",
    injection_task: log.injection_task_id,
    attack: log.attack_type ?? "none",
    benchmark_version: log.benchmark_version ?? null,
    utility: log.utility,
    security: attacked ? log.security : null,
    error: log.error,
    duration_s: log.duration ?? null,
    turns: messages.filter((m) => m.role === "assistant").length,
    tool_calls: calls.length,
    tool_outputs: outputs.length,
    injected_outputs: outputs.filter((o) => o.carries_injection === true).length,
    goal_calls: calls.filter((c) => c.goal_call === true).length,
    user_prompt: request,
    system_prompt: system,
    injections: JSON.stringify(log.injections),
    attacker_values: JSON.stringify(values),
    path,
  };
  return { run, outputs, calls };
}
