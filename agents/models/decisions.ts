/**
 * A model's account of why it acted as it did, carried in its message's `response_metadata` under this key and
 * written to the episode's trace as `model_decision` events. Only the simulated model gives one: for each planted
 * text it read, how it perceived it, the probability it would comply and the draw. No layer sees it (hooks get their
 * subjects, never messages' metadata); it is for the reader of a run.
 */
export const MODEL_DECISIONS = "anis_model_decisions";

export interface ModelDecision {
  /** The planted text (its payload id) the model read. */
  readonly payload: string;
  /** Where it read it: tool_result, memory, peer, tool_description, user… */
  readonly channel: string;
  /** How it perceived it: the features its compliance depends on. */
  readonly perceived: Readonly<Record<string, unknown>>;
  /** The probability it would comply, and the uniform draw that decided (null when the probability is 1). */
  readonly p: number;
  readonly draw: number | null;
  readonly followed: boolean;
}
