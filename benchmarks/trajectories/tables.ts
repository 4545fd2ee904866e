import type { Column } from "../runner/tables.ts";

/**
 * Trajectory tables: real agents' runs by grain — one row per run, per tool output, per model call — joined by
 * `run_id`. Any source can write them (AgentDojo's logs, our own runs against an endpoint); DuckDB reads them like
 * a run folder's Parquet. Versioned: readers check `schema_version` in the folder's `trajectories.json`.
 */
export const TRAJECTORY_SCHEMA_VERSION = 1;

export interface TrajectoryRunRow {
  /** `<source>:<pipeline>/<suite>/<user_task>/<attack>/<injection_task>`: unique across sources. */
  run_id: string;
  source: string;
  /** The pipeline as the source names it (AgentDojo's folder name). */
  pipeline: string;
  model: string;
  /** The pipeline's own defense (`none`, or one of the source's, like `tool_filter`). */
  defense: string;
  suite: string;
  user_task: string;
  /**
   * `user` for a user's task; `injection` for an attacker's task run as the user's request without attack (AgentDojo
   * runs each injection task so, to check it can be done): its calls are the attacker's, never benign work.
   */
  task_kind: "user" | "injection";
  /** Null for a run without attack. */
  injection_task: string | null;
  /** The attack's name (`important_instructions`…), `none` without attack. */
  attack: string;
  benchmark_version: string | null;
  /** The user's task was done. */
  utility: boolean;
  /** The attacker's goal was reached; null without attack (no goal to reach). */
  security: boolean | null;
  /** The failure that ended the run (an API error), or null: an errored run counts in no rate. */
  error: string | null;
  duration_s: number | null;
  /** Model turns (assistant messages). */
  turns: number;
  tool_calls: number;
  tool_outputs: number;
  /** Tool outputs that carry a planted text. */
  injected_outputs: number;
  /** Calls that realise the attacker's goal by the attacker-value rule (see `goal_call` in model_calls). */
  goal_calls: number;
  user_prompt: string;
  system_prompt: string | null;
  /** Injection vector → planted text, as JSON. */
  injections: string;
  /** The attacker's own values found in the planted texts, as a JSON array of `{value, kind}`. */
  attacker_values: string;
  /** Where the log came from, inside the source. */
  path: string;
}

export const TRAJECTORY_RUN_COLUMNS: readonly Column<TrajectoryRunRow>[] = [
  { name: "run_id", type: "VARCHAR" },
  { name: "source", type: "VARCHAR" },
  { name: "pipeline", type: "VARCHAR" },
  { name: "model", type: "VARCHAR" },
  { name: "defense", type: "VARCHAR" },
  { name: "suite", type: "VARCHAR" },
  { name: "user_task", type: "VARCHAR" },
  { name: "task_kind", type: "VARCHAR" },
  { name: "injection_task", type: "VARCHAR" },
  { name: "attack", type: "VARCHAR" },
  { name: "benchmark_version", type: "VARCHAR" },
  { name: "utility", type: "BOOLEAN" },
  { name: "security", type: "BOOLEAN" },
  { name: "error", type: "VARCHAR" },
  { name: "duration_s", type: "DOUBLE" },
  { name: "turns", type: "INTEGER" },
  { name: "tool_calls", type: "INTEGER" },
  { name: "tool_outputs", type: "INTEGER" },
  { name: "injected_outputs", type: "INTEGER" },
  { name: "goal_calls", type: "INTEGER" },
  { name: "user_prompt", type: "VARCHAR" },
  { name: "system_prompt", type: "VARCHAR" },
  { name: "injections", type: "VARCHAR" },
  { name: "attacker_values", type: "VARCHAR" },
  { name: "path", type: "VARCHAR" },
];

export interface ToolOutputRow {
  run_id: string;
  /** Index of the message in the conversation. */
  position: number;
  /** The call it answers: its index among the run's calls. */
  call_seq: number | null;
  tool: string;
  /** The call's arguments, as JSON. */
  args: string;
  /** What the model was shown (a pipeline defense's delimiters or notice included). */
  text: string;
  /** What the tool returned: the text without a pipeline defense's delimiters; null when a detector withheld it. */
  tool_text: string | null;
  /** A pipeline detector replaced the output with its notice. */
  withheld: boolean;
  /** The trust the deployment gives the tool's results; null for a tool the suite does not have. */
  trust: string | null;
  /** A planted text occurs in the output (word for word, whatever the formatting); null when withheld (unknown). */
  carries_injection: boolean | null;
  /** Not the whole planted text, but a run of 8 of its words (a snippet, a truncated page); null when withheld. */
  carries_part: boolean | null;
  /** The model was called again after this output: it read it before acting. */
  model_saw: boolean;
  /** The tool's own error, which the model read as the output. */
  tool_error: string | null;
}

export const TOOL_OUTPUT_COLUMNS: readonly Column<ToolOutputRow>[] = [
  { name: "run_id", type: "VARCHAR" },
  { name: "position", type: "INTEGER" },
  { name: "call_seq", type: "INTEGER" },
  { name: "tool", type: "VARCHAR" },
  { name: "args", type: "VARCHAR" },
  { name: "text", type: "VARCHAR" },
  { name: "tool_text", type: "VARCHAR" },
  { name: "withheld", type: "BOOLEAN" },
  { name: "trust", type: "VARCHAR" },
  { name: "carries_injection", type: "BOOLEAN" },
  { name: "carries_part", type: "BOOLEAN" },
  { name: "model_saw", type: "BOOLEAN" },
  { name: "tool_error", type: "VARCHAR" },
];

export interface ModelCallRow {
  run_id: string;
  /** Index of the assistant message in the conversation. */
  position: number;
  /** Index among the run's calls, in order. */
  call_seq: number;
  tool: string;
  args: string;
  /** The deployment's risk class of the tool; null for a tool the suite does not have (the call did nothing). */
  sensitivity: string | null;
  /** The attacker value the arguments carry, or null. */
  attacker_value: string | null;
  /**
   * The call realises the attacker's goal: a tool that acts (not `read`) with an attacker value in its arguments, or
   * any call to the attacker's URL or host (see `realisesGoal`).
   * Null in a run without attack.
   */
  goal_call: boolean | null;
  /** An output carrying a planted text was in the model's context when it made the call. */
  after_injection: boolean;
}

export const MODEL_CALL_COLUMNS: readonly Column<ModelCallRow>[] = [
  { name: "run_id", type: "VARCHAR" },
  { name: "position", type: "INTEGER" },
  { name: "call_seq", type: "INTEGER" },
  { name: "tool", type: "VARCHAR" },
  { name: "args", type: "VARCHAR" },
  { name: "sensitivity", type: "VARCHAR" },
  { name: "attacker_value", type: "VARCHAR" },
  { name: "goal_call", type: "BOOLEAN" },
  { name: "after_injection", type: "BOOLEAN" },
];

/** The three tables' files in a trajectory folder. */
export const TRAJECTORY_FILES = { runs: "runs.parquet", tool_outputs: "tool_outputs.parquet", model_calls: "model_calls.parquet" } as const;
