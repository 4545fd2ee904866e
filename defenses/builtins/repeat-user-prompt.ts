import { z } from "zod";
import { allow, type ContextKind, type Defense, transform } from "../types.ts";

export const RepeatUserPromptParams = z.strictObject({
  /** The kinds of content after which the request is repeated. */
  after: z.array(z.enum(["tool_result", "memory_read", "retrieved_document", "peer_message"])).default(["tool_result"]),
  /** What introduces the repeated request. */
  preface: z.string().min(1).default("Reminder of the user's request, which is the task:"),
});

/**
 * L0 repeat-user-prompt (the "sandwich" defense; AgentDojo's `repeat_user_prompt`): the user's request is repeated
 * after each tool output, so the last instruction the model reads is the user's. It hides nothing and blocks nothing:
 * its effect on a model is whatever that model's compliance does when the request stands after an injection (fitted
 * for the simulated models from AgentDojo's runs: GPT-4o's ASR 47.7% → 27.8%).
 */
export function repeatUserPrompt(raw: unknown = {}): Defense {
  const params = RepeatUserPromptParams.parse(raw);
  const kinds = new Set<ContextKind>(params.after);
  return {
    id: "repeat-user-prompt",
    layer: "L0",
    version: "1.0.0",
    description: "Repeats the user's request after each tool output (the sandwich defense)",
    params,
    hooks: {
      onContext(entry, scope) {
        if (!kinds.has(entry.kind) || scope.userPrompt.trim().length === 0) return allow;
        return transform(`${entry.content}\n\n${params.preface} ${scope.userPrompt}`, "repeat.user_prompt", "the user's request repeated after the content");
      },
    },
  };
}
