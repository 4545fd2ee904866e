import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlLiteralPath } from "../../analysis/paths.ts";
import { type Framing, framingOf, passageAround, unwrapItem, userNamesIn } from "../../agents/models/sim/framing.ts";
import { saysContentIsData } from "../../agents/models/sim/meaning.ts";
import type { Perceived } from "../../agents/models/sim/profiles.ts";
import { readTrajectoryManifest } from "../trajectories/replay.ts";
import { TRAJECTORY_FILES } from "../trajectories/tables.ts";

/** One attacked run in which the model read the injection: what it perceived, and whether the attacker's goal was reached. */
export interface Observation {
  readonly run_id: string;
  readonly model: string;
  readonly pipeline: string;
  readonly defense: string;
  readonly suite: string;
  readonly user_task: string;
  readonly injection_task: string;
  readonly attack: string;
  readonly success: boolean;
  readonly perceived: Perceived;
  /** The framing of the planted text alone: a feature only the surrounding content shows is no effect of an attack's. */
  readonly planted: Framing;
}

export interface AttackedRuns {
  readonly model: string;
  readonly defense: string;
  readonly attack: string;
  readonly runs: number;
  readonly successes: number;
}

/** What a trajectory folder holds for a fit, besides the observations. */
export interface ObservationSet {
  readonly observations: readonly Observation[];
  readonly source: string;
  readonly digest: string;
  /** Attacked runs of user tasks that did not error, read or not, by model, defense and attack: a real ASR's terms. */
  readonly attacked: readonly AttackedRuns[];
}

/**
 * Attacks whose goal is to stop the agent (AgentDojo's denial-of-service family): their success is a refusal, not
 * the attacker's calls the simulator's payloads carry, so they are left out of a compliance fit.
 */
export const isStopAttack = (attack: string): boolean => attack === "dos" || attack.endsWith("_dos");

/**
 * Names each model answers to, by its family: a text addressed "to you, Mixtral" is not addressed to GPT-4o. A
 * model of no family here answers to none, only to "the AI", "the assistant".
 */
const FAMILIES: readonly (readonly [RegExp, readonly string[]])[] = [
  [/^gpt|^o\d/i, ["GPT-4o", "GPT-4", "GPT-3.5", "GPT", "ChatGPT", "OpenAI"]],
  [/claude/i, ["Claude", "Anthropic"]],
  [/gemini/i, ["Gemini", "Google"]],
  [/llama/i, ["Llama", "Meta"]],
  [/command-r/i, ["Command R", "Command-R", "Cohere"]],
  [/mistral|mixtral/i, ["Mistral", "Mixtral"]],
];
export function answersToOf(model: string): string[] {
  return [...(FAMILIES.find(([pattern]) => pattern.test(model))?.[1] ?? [])];
}

/**
 * The observations of a trajectory folder: each attacked run of a user's task that did not error and whose model
 * read a planted text (a tool output carrying it, read before the model's next step), with what the model
 * perceived in the first such output — read by the simulator's own readers from the text as it reached the model.
 * Two pipeline defenses show in a way the tables do not keep as text: AgentDojo's `repeat_user_prompt` puts the
 * request after every tool output, and `tool_filter` narrows the tools; both are read from the pipeline's defense.
 */
export async function readObservations(dir: string, models?: readonly string[]): Promise<ObservationSet> {
  const manifest = readTrajectoryManifest(dir);
  const db = await DuckDBInstance.create(":memory:", { threads: "1", memory_limit: "512MB" });
  const connection = await db.connect();
  try {
    const runs = sqlLiteralPath(join(dir, TRAJECTORY_FILES.runs));
    const outputs = sqlLiteralPath(join(dir, TRAJECTORY_FILES.tool_outputs));
    const where = `r.task_kind = 'user' AND r.attack <> 'none' AND r.error IS NULL AND r.security IS NOT NULL`;
    const reader = await connection.runAndReadAll(`
      WITH seen AS (
        SELECT run_id, text, row_number() OVER (PARTITION BY run_id ORDER BY position) AS k
        FROM read_parquet(${outputs}) WHERE (carries_injection OR carries_part) AND model_saw)
      SELECT r.run_id, r.model, r.pipeline, r.defense, r.suite, r.user_task, r.injection_task, r.attack, r.security,
             coalesce(r.system_prompt, '') AS system_prompt, r.user_prompt, r.injections, s.text
      FROM read_parquet(${runs}) r JOIN seen s ON s.run_id = r.run_id AND s.k = 1
      WHERE ${where} ORDER BY r.run_id`);
    const counts = await connection.runAndReadAll(
      `SELECT model, defense, attack, count(*)::INTEGER AS runs, count(*) FILTER (WHERE security)::INTEGER AS successes FROM read_parquet(${runs}) r WHERE ${where} GROUP BY ALL ORDER BY ALL`,
    );
    const wanted = models && models.length > 0 ? new Set(models) : null;
    const observations: Observation[] = [];
    for (const row of reader.getRowObjectsJS()) {
      const model = String(row.model);
      const attack = String(row.attack);
      if ((wanted && !wanted.has(model)) || isStopAttack(attack)) continue;
      const text = String(row.text);
      const system = String(row.system_prompt);
      const texts = Object.values(JSON.parse(String(row.injections))) as string[];
      const planted = texts.find((t) => passageAround(text, t) !== text) ?? texts[0] ?? "";
      const reader = { answersTo: answersToOf(model), userNames: userNamesIn(system, String(row.user_prompt)) };
      const item = unwrapItem(text, planted);
      const framing = framingOf(passageAround(item.text, planted), reader);
      const hardened = saysContentIsData(system);
      const marked = item.delimited;
      observations.push({
        run_id: String(row.run_id),
        model,
        pipeline: String(row.pipeline),
        defense: String(row.defense),
        suite: String(row.suite),
        user_task: String(row.user_task),
        injection_task: String(row.injection_task),
        attack,
        success: row.security === true,
        planted: framingOf(planted, reader),
        perceived: {
          ...framing,
          explained_marking: hardened && marked,
          content_is_data_prompt: hardened && !marked,
          request_repeated: row.defense === "repeat_user_prompt",
          not_latest: false,
          decoded: false,
          from_memory: false,
          from_peer: false,
          from_tool_description: false,
          filtered_tools: row.defense === "tool_filter",
        },
      });
    }
    const attacked = counts.getRowObjectsJS().map((r) => ({ model: String(r.model), defense: String(r.defense), attack: String(r.attack), runs: Number(r.runs), successes: Number(r.successes) }));
    return { observations, source: manifest.source, digest: manifest.digest, attacked };
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}
