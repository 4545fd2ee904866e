import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { sqlLiteralPath } from "../../analysis/paths.ts";
import { isDataError } from "../../analysis/results.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { CAPABILITY_INTENTS } from "../../defenses/builtins/tool-allowlist.ts";
import { loadDefenseConfiguration } from "../../defenses/config.ts";
import type { RunConfig } from "../runner/config.ts";
import { resolveRun } from "../runner/matrix.ts";
import type { Suite } from "../suites/suite.ts";
import { type Deployment, type DeploymentFile, DeploymentSchema, deploymentOf } from "./deployment.ts";
import { assembleRows, type Step } from "./rows.ts";
import { TrajectorySourceError } from "./source.ts";
import { type TrajectoryManifest, TrajectoryWriter } from "./writer.ts";

/**
 * Our suites as a deployment describes them to its defenses: each tool's risk class, the trust of its results, its
 * destination arguments and the capabilities the shipped intent rules give it; the organisation's domains and payees
 * as the shipped argument-constraints configuration states them.
 */
export function suitesDeployment(suites: readonly Suite<unknown>[]): DeploymentFile {
  const constraints = loadDefenseConfiguration("argument-constraints").spec[0]!.params as { recipient_domains: string[]; url_domains: string[]; payee_ibans: string[] };
  return DeploymentSchema.parse({
    source: "anis",
    description: "ANIS Bench's suites: tools as their definitions label them (benchmarks/suites/*/tools.ts); the organisation of defenses/configs/argument-constraints.json",
    defenses: {},
    organisation: {
      description: "the worlds' organisation and partners, as the shipped argument-constraints configuration names them",
      domains: [...new Set([...constraints.recipient_domains, ...constraints.url_domains])],
      payee_ibans: constraints.payee_ibans,
    },
    suites: Object.fromEntries(
      suites.map((suite) => [
        suite.name,
        Object.fromEntries(
          [...suite.tools.values()].map(({ schema: { descriptor: d } }) => [
            d.name,
            {
              sensitivity: d.sensitivity,
              results: d.source,
              destinations: [...d.destinationArgs],
              capabilities: CAPABILITY_INTENTS.filter((i) => i.capability !== undefined && i.tools.includes(d.name)).map((i) => i.capability!),
              description: d.description || d.name,
            },
          ]),
        ),
      ]),
    ),
  });
}

/** What a case planted, by where: the texts its point, its `also` points and its carried payloads hold. */
const plantedBy = (c: AttackCase): Record<string, string> =>
  Object.fromEntries([[c.injection.point, c.injection.text], ...c.injection.also.map((a) => [a.point, a.text]), ...c.carried.map((p, i) => [`carried:${i}`, p.text])]);

interface EpisodeFacts {
  episode_id: string;
  suite: string;
  user_task: string;
  attacker_turn: boolean;
  attack_id: string | null;
  family: string | null;
  defense: string;
  model: string;
  utility: boolean;
  attack_success: boolean | null;
  error: string | null;
  error_message: string | null;
  duration_ms: number;
}

interface EventFacts {
  episode_id: string;
  seq: number;
  kind: string;
  tool: string | null;
  verdict: string | null;
  detail: string | null;
}

const argsOf = (detail: string | null): Record<string, unknown> => {
  try {
    const parsed: unknown = JSON.parse(detail ?? "{}");
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    // A trace keeps the first 2,000 characters of a call's arguments: a longer one does not parse.
    return {};
  }
};

/** An episode's trace as trajectory steps: model turns, calls (refused ones too), the outputs the tools returned. */
function stepsOf(events: readonly EventFacts[]): Step[] {
  return events.flatMap((e): Step[] => {
    if (e.kind === "model_output") return [{ kind: "turn", position: e.seq }];
    if (e.kind === "tool_call") return [{ kind: "call", position: e.seq, tool: e.tool ?? "", args: argsOf(e.detail) }];
    if (e.kind !== "tool_result") return [];
    const text = e.detail ?? "";
    if (e.verdict === "error") return [{ kind: "output", position: e.seq, tool: e.tool ?? undefined, text, toolText: text, withheld: false, error: text }];
    return [{ kind: "output", position: e.seq, tool: e.tool ?? undefined, text, toolText: text, withheld: e.verdict !== "allow", error: null }];
  });
}

/**
 * Exports one of our run folders — runs against a real endpoint, or the simulated model — as trajectory tables, the
 * same ones AgentDojo's logs import into: one run per episode (pipeline `model+defense`), its tool outputs and calls
 * from the trace, the attack's planted texts from the run's corpus. The traces keep 2,000 characters of each output
 * and call; a longer one is cut there. The deployment written beside the tables is our suites', so a replay of the
 * export scores layers with the tools' own labels.
 */
export async function exportRun(options: { readonly run: string; readonly out: string }): Promise<TrajectoryManifest> {
  const manifestFile = join(options.run, "manifest.json");
  for (const file of [manifestFile, join(options.run, "episodes.parquet"), join(options.run, "events.parquet")]) {
    if (!existsSync(file)) throw new TrajectorySourceError(`${options.run}: not a finished run folder (${file} is missing)`);
  }
  let runManifest: { run_id?: unknown; config?: unknown; corpus?: { hash?: unknown } };
  try {
    runManifest = JSON.parse(readFileSync(manifestFile, "utf8")) as typeof runManifest;
  } catch (error) {
    throw new TrajectorySourceError(`${manifestFile}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof runManifest?.run_id !== "string" || typeof runManifest.config !== "object" || runManifest.config === null) {
    throw new TrajectorySourceError(`${manifestFile}: not a run manifest (run_id and config)`);
  }
  // The run's own suites and corpus (its outside cases, families and tasks too); no model or defense is built.
  const resolved = resolveRun({ ...(runManifest.config as RunConfig), models: ["sim:obedient"], defenses: ["none"] }, {});
  const cases = new Map(resolved.corpus.map((c) => [c.id, c]));
  const deployment: Deployment = deploymentOf(suitesDeployment(resolved.suites));
  const writer = new TrajectoryWriter(options.out, deployment);
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const rows = async <T>(sql: string, values: string[] = []) => (await connection.runAndReadAll(sql, values)).getRowObjectsJS() as unknown as T[];
  const unknownCases = new Set<string>();
  let episodes: EpisodeFacts[] = [];
  try {
    episodes = await rows<EpisodeFacts>(
      `SELECT episode_id, suite, user_task, attacker_turn, attack_id, family, defense, model, utility, attack_success, error, error_message, duration_ms
       FROM read_parquet(${sqlLiteralPath(join(options.run, "episodes.parquet"))}) ORDER BY episode_id`,
    );
    const events = `read_parquet(${sqlLiteralPath(join(options.run, "events.parquet"))})`;
    for (let at = 0; at < episodes.length; at += 2000) {
      const batch = episodes.slice(at, at + 2000);
      const traced = await rows<EventFacts>(
        `SELECT episode_id, seq, kind, tool, verdict, detail FROM ${events}
         WHERE episode_id BETWEEN $1 AND $2 AND kind IN ('user_input', 'model_output', 'tool_call', 'tool_result') ORDER BY episode_id, seq`,
        [batch[0]!.episode_id, batch.at(-1)!.episode_id],
      );
      const byEpisode = new Map<string, EventFacts[]>();
      for (const event of traced) {
        let list = byEpisode.get(event.episode_id);
        if (!list) byEpisode.set(event.episode_id, (list = []));
        list.push(event);
      }
      for (const e of batch) {
        const trace = byEpisode.get(e.episode_id) ?? [];
        const attack = e.attack_id === null ? undefined : cases.get(e.attack_id);
        if (e.attack_id !== null && !attack) unknownCases.add(e.attack_id);
        const logged = createHash("sha256").update(JSON.stringify([e, trace])).digest("hex");
        writer.add(
          assembleRows(
            {
              run_id: `anis:${runManifest.run_id}/${e.episode_id}`,
              source: "anis",
              pipeline: `${e.model}+${e.defense}`,
              model: e.model,
              defense: e.defense,
              suite: e.suite,
              user_task: e.user_task,
              task_kind: e.attacker_turn ? "injection" : "user",
              injection_task: e.attack_id,
              attack: e.family ?? "none",
              benchmark_version: typeof runManifest.corpus?.hash === "string" ? `corpus:${runManifest.corpus.hash}` : null,
              utility: e.utility,
              security: e.attack_id === null ? null : e.attack_success,
              error: e.error === null ? null : (e.error_message ?? e.error),
              duration_s: e.duration_ms / 1000,
              user_prompt: trace.find((x) => x.kind === "user_input")?.detail ?? "",
              system_prompt: null,
              injections: attack ? plantedBy(attack) : {},
              path: `${runManifest.run_id}/${e.episode_id}`,
            },
            stepsOf(trace),
            (name) => deployment.tool(e.suite, name),
          ),
          e.episode_id,
          logged,
        );
      }
    }
  } catch (error) {
    writer.abort();
    if (isDataError(error)) throw new TrajectorySourceError(`${options.run}: the run's results are damaged (${String((error as Error).message).split("\n")[0]})`);
    throw error;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  if (unknownCases.size > 0) {
    writer.abort();
    throw new TrajectorySourceError(`${options.run}: attack cases not in the run's corpus: ${[...unknownCases].slice(0, 5).join(", ")} (was the run made at another commit?)`);
  }
  return writer.finish({ from: resolve(options.run), fromKind: "folder", files: episodes.length, malformed: [], skipped: [] });
}
