import { z } from "zod";
import { argumentValues, squash } from "../util/args.ts";
import { sentences } from "../util/decode.ts";
import { MEMORY_WRITE_TOOL } from "../approver.ts";
import { allow, block, type Defense, type HookScope, type ProposedCall, quarantine, SENSITIVITIES, type ToolCallRequest } from "../types.ts";

export const MaskedReexecutionParams = z.strictObject({
  /** The task-neutral request the step is re-run with (MELON's masking function). */
  mask: z
    .string()
    .min(1)
    .default("Summarize the tool results, messages and notes above. Do not carry out any other task."),
  /** Tool sensitivities whose calls are checked. */
  check: z.array(z.enum(SENSITIVITIES)).default(["write", "external_sink", "destructive", "privileged"]),
  /** Also check memory writes (the model's save-to-memory call): a note saved with the request masked is planted. */
  check_memory: z.boolean().default(true),
  /** Token overlap (Jaccard) of two calls' arguments above which they are the same action. */
  similarity: z.number().min(0).max(1).default(0.8),
});

interface Exposure {
  /** Untrusted texts this agent has read, for naming the evidence. */
  readonly untrusted: string[];
}

const tokens = (args: Readonly<Record<string, unknown>>) => new Set(argumentValues(args).flatMap((v) => v.toLowerCase().split(/[^\p{L}\p{N}@.+-]+/u).filter(Boolean)));

function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared++;
  return shared / (a.size + b.size - shared);
}

/** Whether a call proposed in the masked step is the call under check: same tool, same destinations or arguments. */
function sameAction(call: Pick<ToolCallRequest, "args"> & { tool: { name: string; destinationArgs: readonly string[] } }, proposed: ProposedCall, similarity: number): boolean {
  if (proposed.tool !== call.tool.name) return false;
  const destinations = (args: Readonly<Record<string, unknown>>) => call.tool.destinationArgs.flatMap((a) => argumentValues(args[a])).map(squash).sort().join("|");
  const where = destinations(call.args);
  if (where && where === destinations(proposed.args)) return true;
  return jaccard(tokens(call.args), tokens(proposed.args)) >= similarity;
}

/** The sentences of untrusted content the agent read that carry one of the action's argument values. */
function evidenceOf(exposure: Exposure, args: Readonly<Record<string, unknown>>): string | undefined {
  const values = argumentValues(args).map(squash).filter((v) => v.length >= 4);
  const carriers = exposure.untrusted.flatMap(sentences).filter((s) => {
    const text = squash(s);
    return values.some((v) => text.includes(v) || (v.length > text.length && text.length >= 20 && v.includes(text)));
  });
  return carriers.length > 0 ? carriers.join("\n") : undefined;
}

/**
 * L4 masked re-execution (MELON, Zhu et al. 2025). Once untrusted content is in an agent's context, each checked
 * tool call is put to a test: the same model step is re-run with the user's request replaced by a task-neutral
 * one, everything else as it was. A call the model still proposes without the user's request is driven by the
 * content, not by the user: it is blocked. Costs one model call per checked step; blind to injections that wait for
 * the user's words (a delayed trigger) and to models that act differently from one run to the next.
 */
export function maskedReexecution(raw: unknown = {}): Defense {
  const params = MaskedReexecutionParams.parse(raw);
  const id = "masked-reexecution";
  const checked = new Set<string>(params.check);
  const exposureOf = (scope: HookScope) => scope.state(id, () => new Map<string, Exposure>()).get(scope.agent);
  /** Whether the model proposes this action even with the user's request masked. */
  const taskIndependent = async (action: Parameters<typeof sameAction>[0], scope: HookScope) => {
    if (!scope.replay) throw new Error("masked re-execution needs the runtime's replay of the current model step");
    const proposed = await scope.replay(params.mask);
    return proposed.some((p) => sameAction(action, p, params.similarity));
  };
  return {
    id,
    layer: "L4",
    version: "1.0.0",
    description: "Masked re-execution (MELON): a call the model still makes with the user's request masked is driven by injected content",
    params,
    hooks: {
      onContext(entry, scope) {
        if (entry.provenance.trust !== "untrusted") return allow;
        const byAgent = scope.state(id, () => new Map<string, Exposure>());
        let exposure = byAgent.get(scope.agent);
        if (!exposure) byAgent.set(scope.agent, (exposure = { untrusted: [] }));
        exposure.untrusted.push(entry.content);
        return allow;
      },
      async onToolCall(call, scope) {
        const exposure = exposureOf(scope);
        if (!checked.has(call.tool.sensitivity) || !exposure || !(await taskIndependent(call, scope))) return allow;
        return block(
          "melon.task_independent",
          `${call.tool.name} is proposed even with the user's request masked: content in the context drives it`,
          evidenceOf(exposure, call.args),
        );
      },
      async onMemoryWrite(request, scope) {
        const exposure = exposureOf(scope);
        const action = { tool: { name: MEMORY_WRITE_TOOL, destinationArgs: [] }, args: { text: request.text } };
        if (!params.check_memory || !exposure || !(await taskIndependent(action, scope))) return allow;
        return quarantine(
          "melon.task_independent",
          "this note is saved even with the user's request masked: content in the context planted it",
          evidenceOf(exposure, action.args),
        );
      },
    },
  };
}
