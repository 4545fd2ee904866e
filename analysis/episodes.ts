import { queryRows, type ResultsDatabase, ResultsError } from "./results.ts";

/**
 * One episode's story, read from a run's tables: what it was (configuration, model, task, attack), how it ended and
 * why, and each event in order — the request, each model output, each tool call and result, memory reads and writes,
 * messages between agents, and each defense verdict with its layer, reason and the approver's answer.
 */
export async function episodeStory(db: ResultsDatabase, episodeId: string): Promise<string> {
  const [episode] = await queryRows(db.connection, `SELECT * FROM episodes WHERE episode_id = ${sqlString(episodeId)}`);
  if (episode === undefined) {
    const near = await queryRows(db.connection, `SELECT episode_id FROM episodes ORDER BY jaro_winkler_similarity(episode_id, ${sqlString(episodeId)}) DESC LIMIT 3`);
    throw new ResultsError(`no episode ${episodeId} in these runs; the closest ids: ${near.map((r) => r.episode_id).join(", ")}. List episodes with anis show RUN_DIR (filters: --defense, --model, --family, --outcome)`);
  }
  const events = await queryRows(db.connection, `SELECT * FROM events WHERE episode_id = ${sqlString(episodeId)} ORDER BY seq`);
  const e = episode as Record<string, unknown>;
  const lines = [
    `episode ${e.episode_id} (run ${e.run_id})`,
    `  ${e.defense} × ${e.model} · suite ${e.suite} · agent system ${e.agent_system} · task ${e.user_task} · seed ${e.seed}`,
    e.attack_id === null
      ? `  benign${e.hard_negative ? " (a hard negative: it looks like an attack and is not)" : ""}`
      : `  attack ${e.attack_id} · family ${e.family} · surface ${e.surface} · goal ${e.goal} · split ${e.split}${Number(e.campaign_len) > 1 ? ` · episode ${Number(e.campaign_pos) + 1} of ${e.campaign_len} of its campaign` : ""}`,
    `outcome: ${outcomeOf(e)}`,
    `why: ${whyOf(e, events)}`,
    "",
    ...events.map(eventLine),
  ];
  return lines.join("\n");
}

const OUTCOMES = ["attack-succeeded", "attack-stopped", "attack-failed", "benign-done", "benign-not-done", "alarm", "error"] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const EPISODE_OUTCOMES: readonly string[] = OUTCOMES;

/** Which episodes a listing shows: every filter that is given must hold. */
export interface EpisodeFilter {
  readonly defense?: string;
  readonly model?: string;
  readonly family?: string;
  readonly task?: string;
  readonly outcome?: Outcome;
  readonly limit?: number;
}

export const OUTCOME_SQL: Record<Outcome, string> = {
  "attack-succeeded": "attack_id IS NOT NULL AND error IS NULL AND attack_success",
  "attack-stopped": "attack_id IS NOT NULL AND error IS NULL AND NOT attack_success AND stops > 0",
  "attack-failed": "attack_id IS NOT NULL AND error IS NULL AND NOT attack_success AND stops = 0",
  "benign-done": "attack_id IS NULL AND error IS NULL AND utility",
  "benign-not-done": "attack_id IS NULL AND error IS NULL AND NOT utility",
  alarm: "attack_id IS NULL AND alarms > 0",
  error: "error IS NOT NULL",
};

/** Episodes matching a filter, a line each, with the count of all that match. */
export async function listEpisodes(db: ResultsDatabase, filter: EpisodeFilter): Promise<{ lines: string[]; matched: number }> {
  const where = [
    filter.defense !== undefined && `defense = ${sqlString(filter.defense)}`,
    filter.model !== undefined && `model = ${sqlString(filter.model)}`,
    filter.family !== undefined && `family = ${sqlString(filter.family)}`,
    filter.task !== undefined && `user_task = ${sqlString(filter.task)}`,
    filter.outcome !== undefined && `(${OUTCOME_SQL[filter.outcome]})`,
  ].filter(Boolean);
  const sql = `FROM episodes${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}`;
  const [{ n }] = (await queryRows(db.connection, `SELECT count(*) AS n ${sql}`)) as [{ n: number }];
  const rows = await queryRows(db.connection, `SELECT * ${sql} ORDER BY episode_id LIMIT ${Math.max(1, Math.floor(filter.limit ?? 20))}`);
  return { matched: n, lines: rows.map((e) => `${e.episode_id}  ${e.defense} × ${e.model}  ${e.attack_id ?? `benign ${e.user_task}`}  ${outcomeOf(e)}`) };
}

export function outcomeOf(e: Record<string, unknown>): string {
  if (e.error !== null) return `error (${e.error})`;
  const task = e.utility ? "task done" : "task not done";
  const acted = `${e.interventions} intervention${e.interventions === 1 ? "" : "s"}${Number(e.approvals) > 0 ? `, ${e.approvals} approval request${e.approvals === 1 ? "" : "s"} (${e.approvals_denied} refused)` : ""}`;
  if (e.attack_id === null) return `benign, ${task}; ${acted}${Number(e.alarms) > 0 ? ` — ${e.alarms} alarm${e.alarms === 1 ? "" : "s"} on benign work` : ""}`;
  return `attack ${e.attack_success ? "succeeded" : "failed"}, ${task}; ${acted}`;
}

/** The reason an episode ended as it did, as far as its tables say. */
export function whyOf(e: Record<string, unknown>, events: readonly Record<string, unknown>[]): string {
  if (e.error !== null) return `${e.error}: ${e.error_message ?? "no message"}`;
  const interventions = events.filter((v) => v.kind === "intervention");
  const approvedAsks = interventions.filter((v) => v.verdict === "ask_approval" && v.approved === true);
  const decisions = events.filter((v) => v.kind === "model_decision").flatMap((v) => {
    try {
      return [JSON.parse(String(v.detail)) as Decision];
    } catch {
      return [];
    }
  });
  if (e.attack_id !== null) {
    if (e.attack_success) {
      const followed = decisions.filter((d) => d.followed);
      if (interventions.length === 0 && followed.length > 0) return `no layer acted, and the model followed the planted text (${followed.map(decisionBrief).join("; ")})`;
      if (approvedAsks.length > 0) return `a layer asked for approval and the approver said yes: ${approvedAsks.map((v) => `${v.layer} ${v.defense} on ${v.tool ?? v.hook} (${v.code})`).join("; ")}`;
      return interventions.length > 0 ? "the layers acted, but nothing they did stopped the attack's goal" : "no layer acted, and the model followed the planted instruction";
    }
    if (Number(e.stops) > 0) return `stopped by ${e.first_stop_layer} ${e.first_stop_defense}: ${firstStop(interventions)}`;
    if (decisions.length > 0 && decisions.every((d) => !d.followed)) return `no layer stopped anything; the model read the planted text and did not follow it (${decisions.map(decisionBrief).join("; ")})`;
    // Only the simulated model accounts for its decisions: its silence means it read no planted text.
    if (decisions.length === 0 && String(e.model).startsWith("sim:")) return "no layer stopped anything; the model never read the planted text";
    return "no layer stopped anything; the attack's goal was not reached (the model's calls did not reach it)";
  }
  if (Number(e.alarms) > 0) {
    const alarm = interventions.find((v) => v.defense === e.first_alarm_defense && (v.verdict !== "transform" || v.keeps_information === false));
    return `benign work was stopped, held up or stripped of information: first by ${e.first_alarm_layer} ${e.first_alarm_defense}${alarm ? `: ${verdictText(alarm)}` : ""}`;
  }
  return e.utility ? "the task was done without an alarm" : "the task was not done, and no layer raised an alarm (the model's own failure)";
}

const verdictText = (v: Record<string, unknown>) =>
  `${v.verdict}${v.code ? ` (${v.code})` : ""}${v.reason ? ` — ${v.reason}` : ""}${v.verdict === "ask_approval" ? `, ${v.approved ? "approved" : "refused"}` : ""}`;

const firstStop = (interventions: readonly Record<string, unknown>[]) => {
  const v = interventions.find((x) => x.verdict === "block" || x.verdict === "quarantine" || (x.verdict === "ask_approval" && x.approved === false)) ?? interventions[0];
  return v === undefined ? "" : verdictText(v);
};

const KIND = {
  user_input: "user",
  model_output: "model",
  tool_call: "tool call",
  tool_result: "tool result",
  agent_message: "message",
  memory_read: "memory read",
  memory_write: "memory write",
  intervention: "DEFENSE",
  model_decision: "decision",
  system_prompt: "system",
  model_call: "model call",
  tool_description: "tool offered",
} as Record<string, string>;

interface Decision {
  readonly payload: string;
  readonly channel: string;
  readonly perceived: Record<string, unknown>;
  readonly p: number;
  readonly draw: number | null;
  readonly followed: boolean;
}

const decisionBrief = (d: Decision) => `read in ${d.channel}: compliance p ${d.p.toFixed(3)}, ${d.draw === null ? "certain" : `draw ${d.draw.toFixed(3)}`}`;

/** A simulated model's decision on a planted text it read: where, the features that set p, p, the draw, the choice. */
function decisionText(detail: string): string {
  try {
    const d = JSON.parse(detail) as Decision;
    const features = Object.entries(d.perceived)
      .filter(([, v]) => v !== false && v !== null && v !== 0 && v !== "none")
      .map(([k, v]) => (v === true ? k : `${k} ${v}`))
      .join(", ");
    const drawn = d.draw === null ? "certain" : `draw ${d.draw.toFixed(3)} ${d.draw < d.p ? "<" : "≥"} p`;
    return `read planted text ${d.payload} in ${d.channel}: compliance p ${d.p.toFixed(3)}, ${drawn} → ${d.followed ? "FOLLOWS it" : "does not follow it"}${features ? ` (perceived: ${features})` : ""}`;
  } catch {
    return detail;
  }
}

/** One event as the story tells it: its label, its text, and whether a defense or the model's own choice speaks. */
export function eventParts(v: Record<string, unknown>): { readonly label: string; readonly body: string; readonly tone: "defense" | "decision" | "plain" } {
  const label = KIND[String(v.kind)] ?? String(v.kind);
  if (v.kind === "model_decision") return { label, body: decisionText(String(v.detail ?? "")), tone: "decision" };
  if (v.kind === "intervention") {
    const answer = v.verdict === "ask_approval" ? ` → approver ${v.approved === true ? "approved" : v.approved === false ? "refused" : "did not answer"}` : "";
    const kept = v.verdict === "transform" ? (v.keeps_information === true ? " (kept the information)" : v.keeps_information === false ? " (removed information)" : "") : "";
    const body = `${v.layer} ${v.defense} ${v.hook}${v.tool ? ` on ${v.tool}` : ""}: ${String(v.verdict).toUpperCase()}${v.code ? ` (${v.code})` : ""}${kept}${v.reason ? ` — ${v.reason}` : ""}${answer}${v.detail ? `\n${v.detail}` : ""}`;
    return { label, body, tone: "defense" };
  }
  const source = v.kind === "tool_result" || v.kind === "tool_call" ? `${v.tool}: ` : v.source && v.kind !== "user_input" ? `[${v.source}] ` : "";
  // A call the layers stopped is in the story as asked for, and says it did not run.
  const stopped = v.kind === "tool_call" && typeof v.verdict === "string" && v.verdict !== "allow" ? ` — not run (${v.verdict})` : "";
  const body = `${source}${v.detail ?? ""}${stopped}${typeof v.delivered === "string" ? `\n→ as the agent read it, after the layers' rewrites:\n${v.delivered}` : ""}`;
  return { label, body, tone: "plain" };
}

function eventLine(v: Record<string, unknown>): string {
  const { label, body } = eventParts(v);
  const head = `#${String(v.seq).padStart(3)}  ${String(v.agent).padEnd(12)} ${label.padEnd(12)} `;
  return `${head}${body.replaceAll("\n", `\n${" ".repeat(head.length)}`)}`;
}

export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
