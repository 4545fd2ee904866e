/** Result tables by grain: one row per episode, one per trace event. Versioned: readers check `schema_version`. */
export const RESULTS_SCHEMA_VERSION = 3;

type ColumnType = "VARCHAR" | "BOOLEAN" | "INTEGER" | "DOUBLE";
export interface Column<R> {
  readonly name: keyof R & string;
  readonly type: ColumnType;
}

export interface EpisodeRow {
  run_id: string;
  episode_id: string;
  campaign_id: string;
  campaign_pos: number;
  campaign_len: number;
  suite: string;
  agent_system: string;
  user_task: string;
  /** The attacker was the user of this episode (a query-only attack's first episode): not the user's own work. */
  attacker_turn: boolean;
  hard_negative: boolean;
  attack_id: string | null;
  surface: string | null;
  family: string | null;
  goal: string | null;
  split: string | null;
  defense: string;
  model: string;
  seed: number;
  utility: boolean;
  attack_success: boolean | null;
  interventions: number;
  /** Interventions that cost something: stops, quarantines, approval requests, rewrites that removed information. */
  alarms: number;
  /** Rewrites that kept all the information (marking, delimiting, normalising): interventions that cost nothing. */
  rewrites: number;
  approvals: number;
  approvals_denied: number;
  stops: number;
  /** Layer and defense of the first intervention of any kind. */
  first_layer: string | null;
  first_defense: string | null;
  /** Layer and defense of the first intervention that stopped something (block, quarantine, refused approval). */
  first_stop_layer: string | null;
  first_stop_defense: string | null;
  /** Layer and defense of the first alarm (an intervention that cost something). */
  first_alarm_layer: string | null;
  first_alarm_defense: string | null;
  error: string | null;
  error_message: string | null;
  steps: number;
  model_calls: number;
  tool_calls: number;
  duration_ms: number;
  defense_us: number;
  /** Spread of the attack through the agents (see benchmarks/runner/infection.ts); zeros and nulls for benign episodes. */
  agents_total: number;
  agents_exposed: number;
  agents_infected: number;
  spread_depth: number | null;
  secondary_infections: number;
  containment_steps: number | null;
  /** Memory integrity: poisoned entries retrieved into a context in this episode, and held in memory after it. */
  poisoned_retrievals: number;
  poisoned_active: number;
  poisoned_quarantined: number;
  /** Tokens the endpoint reported for this episode's model calls (0 for the simulated model and cached answers). */
  input_tokens: number;
  output_tokens: number;
  /** Model calls answered from the response cache: not paid for. */
  cached_calls: number;
  /** US dollars the tokens cost at the prices configuration's rates; null when the model has no price. */
  cost_usd: number | null;
}

export const EPISODE_COLUMNS: readonly Column<EpisodeRow>[] = [
  { name: "run_id", type: "VARCHAR" },
  { name: "episode_id", type: "VARCHAR" },
  { name: "campaign_id", type: "VARCHAR" },
  { name: "campaign_pos", type: "INTEGER" },
  { name: "campaign_len", type: "INTEGER" },
  { name: "suite", type: "VARCHAR" },
  { name: "agent_system", type: "VARCHAR" },
  { name: "user_task", type: "VARCHAR" },
  { name: "attacker_turn", type: "BOOLEAN" },
  { name: "hard_negative", type: "BOOLEAN" },
  { name: "attack_id", type: "VARCHAR" },
  { name: "surface", type: "VARCHAR" },
  { name: "family", type: "VARCHAR" },
  { name: "goal", type: "VARCHAR" },
  { name: "split", type: "VARCHAR" },
  { name: "defense", type: "VARCHAR" },
  { name: "model", type: "VARCHAR" },
  { name: "seed", type: "INTEGER" },
  { name: "utility", type: "BOOLEAN" },
  { name: "attack_success", type: "BOOLEAN" },
  { name: "interventions", type: "INTEGER" },
  { name: "alarms", type: "INTEGER" },
  { name: "rewrites", type: "INTEGER" },
  { name: "approvals", type: "INTEGER" },
  { name: "approvals_denied", type: "INTEGER" },
  { name: "stops", type: "INTEGER" },
  { name: "first_layer", type: "VARCHAR" },
  { name: "first_defense", type: "VARCHAR" },
  { name: "first_stop_layer", type: "VARCHAR" },
  { name: "first_stop_defense", type: "VARCHAR" },
  { name: "first_alarm_layer", type: "VARCHAR" },
  { name: "first_alarm_defense", type: "VARCHAR" },
  { name: "error", type: "VARCHAR" },
  { name: "error_message", type: "VARCHAR" },
  { name: "steps", type: "INTEGER" },
  { name: "model_calls", type: "INTEGER" },
  { name: "tool_calls", type: "INTEGER" },
  { name: "duration_ms", type: "DOUBLE" },
  { name: "defense_us", type: "DOUBLE" },
  { name: "agents_total", type: "INTEGER" },
  { name: "agents_exposed", type: "INTEGER" },
  { name: "agents_infected", type: "INTEGER" },
  { name: "spread_depth", type: "INTEGER" },
  { name: "secondary_infections", type: "INTEGER" },
  { name: "containment_steps", type: "INTEGER" },
  { name: "poisoned_retrievals", type: "INTEGER" },
  { name: "poisoned_active", type: "INTEGER" },
  { name: "poisoned_quarantined", type: "INTEGER" },
  { name: "input_tokens", type: "INTEGER" },
  { name: "output_tokens", type: "INTEGER" },
  { name: "cached_calls", type: "INTEGER" },
  { name: "cost_usd", type: "DOUBLE" },
];

export interface EventRow {
  run_id: string;
  episode_id: string;
  seq: number;
  agent: string;
  kind: string;
  layer: string | null;
  hook: string | null;
  defense: string | null;
  verdict: string | null;
  code: string | null;
  reason: string | null;
  source: string | null;
  tool: string | null;
  approved: boolean | null;
  /** For a rewrite: whether it kept all the information. */
  keeps_information: boolean | null;
  /** The text whole: the request, a model output, a call's arguments, a result, a message, a layer's evidence. */
  detail: string | null;
  /** What the agent received instead of `detail` when a layer rewrote it (marked, delimited, redacted); else null. */
  delivered: string | null;
}

export const EVENT_COLUMNS: readonly Column<EventRow>[] = [
  { name: "run_id", type: "VARCHAR" },
  { name: "episode_id", type: "VARCHAR" },
  { name: "seq", type: "INTEGER" },
  { name: "agent", type: "VARCHAR" },
  { name: "kind", type: "VARCHAR" },
  { name: "layer", type: "VARCHAR" },
  { name: "hook", type: "VARCHAR" },
  { name: "defense", type: "VARCHAR" },
  { name: "verdict", type: "VARCHAR" },
  { name: "code", type: "VARCHAR" },
  { name: "reason", type: "VARCHAR" },
  { name: "source", type: "VARCHAR" },
  { name: "tool", type: "VARCHAR" },
  { name: "approved", type: "BOOLEAN" },
  { name: "keeps_information", type: "BOOLEAN" },
  { name: "detail", type: "VARCHAR" },
  { name: "delivered", type: "VARCHAR" },
];
