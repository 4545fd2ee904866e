import { createHash } from "node:crypto";
import type { TopLevelSpec } from "vega-lite";
import { CHART_CONFIG, wrap } from "../../analysis/charts.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { maskedReexecution } from "../../defenses/builtins/masked-reexecution.ts";
import { argumentValues, isProse, squash } from "../../defenses/util/args.ts";
import { decodeObfuscations, proseSentences, sentences } from "../../defenses/util/decode.ts";
import type { Defense } from "../../defenses/types.ts";
import type { Action, VaccineArtifact } from "../../defenses/vaccines/artifact.ts";
import { actionKey } from "../../defenses/vaccines/behaviour.ts";
import { actionRecognizer, textRecognizer, VACCINATORS } from "../../defenses/vaccines/index.ts";
import { loadCorpus } from "../corpus.ts";
import { wilson } from "../wilson.ts";
import { runBenignTask, runCase } from "../testing/episodes.ts";
import { actionRecorder, benignActions, benignTasks, type RecordedCall, selfCorpus, selfCorpusOf } from "./training.ts";

/** The operating points Meta tries for a two-signal candidate by default, most sensitive first (quantiles of unseen self). */
export const OPERATING_POINTS: readonly number[] = [0.5, 0.65, 0.8, 0.95];
/** How many times Meta tolerises what a two-signal candidate reacted to and retrains it, at one operating point. */
const TOLERANCE_ROUNDS = 3;

/** Which quarter of the benign tasks a held-out task belongs to: the thymus tests vaccines, the stream measures them. */
const heldOutRole = (suite: string, task: string): "thymus" | "stream" =>
  Number.parseInt(createHash("sha256").update(`role|${suite}/${task}`).digest("hex").slice(0, 2), 16) % 2 === 0 ? "thymus" : "stream";

export interface ContinualOptions {
  readonly vaccinator: string;
  readonly seed: number;
  /** Attack episodes per family in the stream. */
  readonly perFamily: number;
  /** A benign episode after every this many attack episodes. */
  readonly benignEvery: number;
  /** Meta rejects a candidate vaccine that flags more than this share of the thymus texts. */
  readonly autoimmunityLimit: number;
  readonly model: string;
  /** For a two-signal vaccinator: the operating points Meta tries, in order (default {@link OPERATING_POINTS}). */
  readonly operatingPoints?: readonly number[];
}

export interface StreamEvent {
  readonly step: number;
  readonly kind: "attack" | "benign";
  readonly family: string | null;
  readonly id: string;
  readonly succeeded: boolean | null;
  readonly blocked: boolean | null;
  /** Any layer raised an alarm: the learned vaccine, or the late layer Self watches with. */
  readonly intervened: boolean;
  /** The learned vaccine (L3) itself intervened. */
  readonly vaccine_intervened: boolean;
  readonly vaccine_version: number;
}

export interface ContinualResult {
  readonly vaccinator: string;
  readonly events: readonly StreamEvent[];
  /** Per family: attack episodes from its first appearance until it is blocked at >= 90% (null: never within the stream). */
  readonly time_to_immunity: Readonly<Record<string, number | null>>;
  /**
   * Per immune family: the exposures from that point on and how many were blocked, with the Wilson 95% interval of
   * the share — how sure the stream is that the family stays stopped.
   */
  readonly blocked_after_immunity: Readonly<Record<string, { readonly blocked: number; readonly exposures: number; readonly lo: number; readonly hi: number }>>;
  /**
   * Autoimmunity of the benign stream episodes, per block of ten: `rate` counts the learned vaccine's interventions
   * (what learning costs), `with_late_layer` any alarm, the late layer's own included (the same in every stream).
   */
  readonly autoimmunity_drift: readonly { readonly block: number; readonly rate: number; readonly with_late_layer: number; readonly n: number }[];
  /** The learned vaccine's interventions on all benign stream episodes, with the Wilson 95% interval. */
  readonly autoimmunity: { readonly alarms: number; readonly episodes: number; readonly lo: number; readonly hi: number };
  readonly vaccines_deployed: number;
  readonly vaccines_rejected: number;
  /** Incident sentences the thymus deleted as self-reactive, at the end of the stream (two signals: thymus sentences tolerised). */
  readonly clones_deleted: number;
  /** Attack episodes Self reported as incidents. */
  readonly incidents: number;
}

/**
 * Continual immune learning, the Harness Triad, on a stream of episodes in which new families appear one after
 * another (seeded order), with benign work interleaved:
 * - **Self** detects incidents from traces: an attack that reached its goal, or one the late L4 layer (masked
 *   re-execution) had to catch; it keeps the text the agent read in that episode (the late layer's evidence when it
 *   named one) as an incident.
 * - **Meta** is the thymus: benign content of held-out tasks the stream never shows. Each incident sentence whose
 *   own vaccine reacts to it is deleted (a self-reactive clone); a candidate trained on the rest that still flags
 *   more than the limit of the thymus is rejected.
 * - **Auto** deploys an accepted vaccine at once, as the L3 layer of every agent (one artifact shared: L5).
 * Measured: time-to-immunity per family, autoimmunity drift over the stream, vaccines rejected by Meta.
 */
export async function runContinual(options: ContinualOptions): Promise<ContinualResult> {
  const vaccinator = VACCINATORS.get(options.vaccinator);
  if (!vaccinator) throw new Error(`unknown vaccinator "${options.vaccinator}". Valid vaccinators: ${[...VACCINATORS.keys()].join(", ")}`);
  const fromActions = vaccinator.learnsFrom !== "texts";
  const fromTexts = vaccinator.learnsFrom !== "actions";
  const key = (s: string) => createHash("sha256").update(`${options.seed}|${s}`).digest("hex");
  const cases = loadCorpus().filter((c) => c.agent === "single" && c.campaign.length === 1 && c.injection.also.length === 0);
  const families = [...new Set(cases.map((c) => c.family))].sort((a, b) => (key(a) < key(b) ? -1 : 1));
  const byFamily = new Map(families.map((f) => [f, cases.filter((c) => c.family === f).sort((a, b) => (key(a.id) < key(b.id) ? -1 : 1))]));
  const heldOut = benignTasks("evaluate");
  const streamBenign = heldOut.filter((t) => heldOutRole(t.suite, t.task) === "stream");
  const thymusTasks = heldOut.filter((t) => heldOutRole(t.suite, t.task) === "thymus");
  const thymus = selfCorpusOf(thymusTasks);
  const self = selfCorpus();
  const ordinary = new Set(self.flatMap(proseSentences).map((x) => x.trim()));
  // What benign work does: the train half's actions (Self's "ordinary", and an action vaccinator's self), and the
  // thymus tasks' (an action vaccinator's thymus).
  const selfActions = await benignActions(benignTasks("train"), ["single"]);
  const thymusActions = fromActions ? await benignActions(thymusTasks, ["single"]) : [];
  const ordinaryActions = new Set(selfActions.map(actionKey));

  const plan: ({ kind: "attack"; attack: AttackCase } | { kind: "benign"; suite: string; task: string })[] = [];
  let attacks = 0;
  for (const family of families) {
    for (const attack of byFamily.get(family)!.slice(0, options.perFamily)) {
      plan.push({ kind: "attack", attack });
      if (++attacks % options.benignEvery === 0) plan.push({ kind: "benign", ...streamBenign[(attacks / options.benignEvery) % streamBenign.length]! });
    }
  }

  const incidents: string[] = [];
  const incidentActions: Action[] = [];
  /** Per incident sentence (or action): whether the thymus let it live (its own vaccine reacts to nothing of the thymus). */
  const vetted = new Map<string, boolean>();
  let deleted = 0;
  /** Thymus sentences a two-signal vaccine reacted to, learned as self from then on. */
  const tolerated: string[] = [];
  let incidentEpisodes = 0;
  let vaccine: VaccineArtifact | null = null;
  let version = 0;
  let rejected = 0;
  const events: StreamEvent[] = [];
  const late = maskedReexecution();
  const layers = (): Defense[] => (vaccine ? [vaccineLayer(vaccine), late] : [late]);

  for (const [step, item] of plan.entries()) {
    if (item.kind === "benign") {
      const outcome = await runBenignTask(item.suite, item.task, layers(), { model: options.model });
      const vaccineIntervened = outcome.events.some((e) => e.kind === "intervention" && e.layer === "L3");
      events.push({ step, kind: "benign", family: null, id: `${item.suite}/${item.task}`, succeeded: null, blocked: null, intervened: outcome.alarms > 0, vaccine_intervened: vaccineIntervened, vaccine_version: version });
      continue;
    }
    const calls: RecordedCall[] = [];
    const outcome = await runCase(item.attack, [actionRecorder(calls), ...layers()], { model: options.model });
    const caughtLate = outcome.events.filter((e) => e.kind === "intervention" && e.defense === late.id && e.verdict === "block");
    const blockedByVaccine = outcome.events.some((e) => e.kind === "intervention" && e.layer === "L3");
    events.push({
      step,
      kind: "attack",
      family: item.attack.family,
      id: item.attack.id,
      succeeded: outcome.attackSucceeded,
      blocked: !outcome.attackSucceeded && blockedByVaccine,
      intervened: outcome.alarms > 0,
      vaccine_intervened: blockedByVaccine,
      vaccine_version: version,
    });
    // Self: an incident is an attack that got through or that only the late layer caught.
    if (!outcome.attackSucceeded && caughtLate.length === 0) continue;
    incidentEpisodes++;
    // The attacker's calls, as Self can tell them from a trace: those benign work never makes.
    const unusual = calls.filter((c) => !ordinaryActions.has(actionKey(c.action)));
    // What to learn from: the late layer's evidence when it named one; else the sentences the agent read that name
    // what an unusual call acted on (its address, path or id, also once decoded); else what it read that ordinary
    // days (the self corpus) never contain.
    const evidence = caughtLate.map((e) => e.detail ?? "").filter(Boolean);
    const read = outcome.events.filter((e) => e.kind === "tool_result" && e.verdict === "allow").map((e) => e.detail ?? "");
    const targets = unusual.flatMap((c) => Object.entries(c.args).filter(([k, v]) => !isProse(k, v)).flatMap(([, v]) => argumentValues(v))).map(squash).filter((v) => v.length >= 4);
    const names = (x: string) => {
      const [plain, decoded] = [squash(x), squash(decodeObfuscations(x).text)];
      return targets.some((v) => plain.includes(v) || decoded.includes(v));
    };
    const unfamiliar = (texts: readonly string[]) => texts.flatMap(proseSentences).filter((x) => !ordinary.has(x.trim()));
    const naming = unfamiliar(read.filter((t) => proseSentences(t).some(names)));
    if (fromTexts) incidents.push(...(evidence.length > 0 ? evidence.flatMap(sentences) : naming.length > 0 ? naming : unfamiliar(read)));
    if (fromActions) incidentActions.push(...unusual.map((c) => c.action));
    // Meta: test what the incidents teach in the thymus; delete the self-reactive clones (incidents whose own vaccine
    // reacts to benign thymus content), train a candidate on the rest, and test it again.
    let candidate!: VaccineArtifact;
    let flagShare = 1;
    if (fromActions && fromTexts) {
      // Two signals learned together have no recogniser of a text or an action alone: the thymus tests each candidate
      // as deployed, on the thymus tasks' episodes, and sets its operating point — the most sensitive text threshold
      // under which the thymus stays within the limit. The untrusted sentences a candidate reacted to there are
      // tolerised (learned as self from then on, as peripheral tolerance does) and it is retrained, a few rounds.
      search: for (const operatingPoint of options.operatingPoints ?? OPERATING_POINTS) {
        for (let round = 0; round < TOLERANCE_ROUNDS; round++) {
          candidate = vaccinator.train({ attacks: incidents, self, tolerated, attackActions: incidentActions, selfActions }, { seed: options.seed, split: `stream@${step}`, operatingPoint });
          const layer = vaccineLayer(candidate);
          const reacted = new Set<string>();
          let alarms = 0;
          for (const t of thymusTasks) {
            const thymusRun = await runBenignTask(t.suite, t.task, [layer], { model: options.model });
            if (thymusRun.alarms === 0) continue;
            alarms++;
            for (const e of thymusRun.events) if (e.kind === "intervention") for (const x of sentences(e.detail ?? "")) reacted.add(x);
          }
          flagShare = alarms / Math.max(1, thymusTasks.length);
          if (flagShare <= options.autoimmunityLimit) break search;
          const fresh = [...reacted].filter((x) => !tolerated.includes(x));
          if (fresh.length === 0) break;
          tolerated.push(...fresh);
        }
      }
      deleted = tolerated.length;
    } else if (fromActions) {
      for (const action of incidentActions) {
        const key = actionKey(action);
        if (vetted.has(key)) continue;
        const reacts = actionRecognizer(vaccinator.train({ attacks: [], self: [], attackActions: [action], selfActions }, { seed: options.seed, split: "clone" }));
        vetted.set(key, !thymusActions.some(reacts));
      }
      const repertoire = incidentActions.filter((a) => vetted.get(actionKey(a)));
      deleted = incidentActions.length - repertoire.length;
      candidate = vaccinator.train({ attacks: [], self: [], attackActions: repertoire, selfActions }, { seed: options.seed, split: `stream@${step}` });
      flagShare = thymusActions.filter(actionRecognizer(candidate)).length / Math.max(1, thymusActions.length);
    } else {
      for (const sentence of incidents) {
        if (vetted.has(sentence)) continue;
        const reacts = textRecognizer(vaccinator.train({ attacks: [sentence], self }, { seed: options.seed, split: "clone" }));
        vetted.set(sentence, !thymus.some(reacts));
      }
      const repertoire = incidents.filter((x) => vetted.get(x));
      deleted = incidents.length - repertoire.length;
      candidate = vaccinator.train({ attacks: repertoire, self }, { seed: options.seed, split: `stream@${step}` });
      flagShare = thymus.filter(textRecognizer(candidate)).length / Math.max(1, thymus.length);
    }
    if (flagShare > options.autoimmunityLimit) {
      rejected++;
      continue;
    }
    // Auto: deploy it, shared by every agent of the system.
    vaccine = candidate;
    version++;
  }

  const timeToImmunity: Record<string, number | null> = {};
  const blockedAfter: Record<string, { blocked: number; exposures: number; lo: number; hi: number }> = {};
  for (const family of families) {
    const seen = events.filter((e) => e.kind === "attack" && e.family === family);
    timeToImmunity[family] = null;
    for (let i = 0; i < seen.length; i++) {
      const rest = seen.slice(i);
      const blocked = rest.filter((e) => e.blocked).length;
      if (rest.length >= 3 && blocked / rest.length >= 0.9) {
        timeToImmunity[family] = i;
        const [lo, hi] = wilson(blocked, rest.length);
        blockedAfter[family] = { blocked, exposures: rest.length, lo, hi };
        break;
      }
    }
  }
  const benign = events.filter((e) => e.kind === "benign");
  const drift = Array.from({ length: Math.ceil(benign.length / 10) }, (_, block) => {
    const slice = benign.slice(block * 10, block * 10 + 10);
    return { block, n: slice.length, rate: slice.filter((e) => e.vaccine_intervened).length / slice.length, with_late_layer: slice.filter((e) => e.intervened).length / slice.length };
  });
  const alarms = benign.filter((e) => e.vaccine_intervened).length;
  const [lo, hi] = wilson(alarms, benign.length);
  return {
    vaccinator: vaccinator.id,
    events,
    time_to_immunity: timeToImmunity,
    blocked_after_immunity: blockedAfter,
    autoimmunity: { alarms, episodes: benign.length, lo, hi },
    autoimmunity_drift: drift, vaccines_deployed: version, vaccines_rejected: rejected, clones_deleted: deleted, incidents: incidentEpisodes };
}

/** The deployed vaccine as a layer (what `vaccine` makes from an artifact file). */
function vaccineLayer(artifact: VaccineArtifact): Defense {
  return { id: `vaccine:${artifact.vaccinator}`, layer: "L3", version: artifact.version, description: "continual vaccine", params: {}, hooks: VACCINATORS.get(artifact.vaccinator)!.hooks(artifact.model) };
}

/**
 * The stream as a Vega-Lite chart: per family, the share of its exposures so far that the learned vaccine blocked
 * (a triangle where an incident of that exposure led to a new vaccine being deployed), and beside it the autoimmunity
 * drift — the vaccine's own alarms on benign work, and all alarms with the late layer's.
 */
export function continualChart(result: ContinualResult): TopLevelSpec {
  const exposures = new Map<string, { n: number; blocked: number }>();
  const values = result.events.flatMap((e, i) => {
    if (e.kind !== "attack") return [];
    const seen = exposures.get(e.family!) ?? { n: 0, blocked: 0 };
    seen.n++;
    if (e.blocked) seen.blocked++;
    exposures.set(e.family!, seen);
    const deployed = (result.events[i + 1]?.vaccine_version ?? e.vaccine_version) > e.vaccine_version;
    const immuneAfter = result.time_to_immunity[e.family!];
    return [{ family: e.family, exposure: seen.n, cumulative: seen.blocked / seen.n, after: deployed ? "a vaccine deployed after it" : "no new vaccine", immune_from: immuneAfter === null || immuneAfter === undefined ? null : immuneAfter + 1 }];
  });
  const drift = result.autoimmunity_drift.flatMap((d) => [
    { block: d.block + 1, rate: d.rate, alarms: "the vaccine's" },
    { block: d.block + 1, rate: d.with_late_layer, alarms: "all (late layer too)" },
  ]);
  const immune = Object.values(result.time_to_immunity).filter((t) => t !== null).length;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `Continual immune learning (${result.vaccinator})`,
      subtitle: wrap(
        `${immune} of ${Object.keys(result.time_to_immunity).length} families immune (≥ 90% blocked from some exposure on: the dashed green line) · the vaccine's alarms on benign work ${result.autoimmunity.alarms} of ${result.autoimmunity.episodes} · vaccines deployed ${result.vaccines_deployed}, rejected by the thymus ${result.vaccines_rejected}`,
      ),
    },
    config: CHART_CONFIG,
    hconcat: [
      {
        data: { values },
        facet: { field: "family", type: "nominal", title: null, header: { labelFontSize: 12 } },
        columns: 3,
        spec: {
          width: 150,
          height: 80,
          encoding: {
            x: { field: "exposure", type: "quantitative", title: "exposure of the family", axis: { tickMinStep: 1 } },
            y: { field: "cumulative", type: "quantitative", title: "blocked so far", scale: { domain: [0, 1] }, axis: { format: ".0%", tickCount: 3 } },
          },
          layer: [
            // Where the family is immune from: every exposure from it on is blocked at ≥ 90%.
            { mark: { type: "rule", color: "#54a24b", strokeDash: [4, 3] }, encoding: { x: { field: "immune_from", aggregate: "min" }, y: { value: 0 }, y2: { value: 80 } } },
            { mark: { type: "line", color: "#4c78a8" } },
            {
              mark: { type: "point", filled: true, size: 45 },
              encoding: {
                shape: { field: "after", type: "nominal", title: "then", scale: { domain: ["no new vaccine", "a vaccine deployed after it"], range: ["circle", "triangle-up"] } },
                color: { field: "after", type: "nominal", title: "then", scale: { domain: ["no new vaccine", "a vaccine deployed after it"], range: ["#4c78a8", "#e45756"] } },
              },
            },
          ],
        },
      },
      {
        data: { values: drift },
        width: 220,
        height: 300,
        mark: { type: "line", color: "#555", point: { color: "#555" } },
        encoding: {
          x: { field: "block", type: "ordinal", title: "benign episodes, block of ten", axis: { labelAngle: 0 } },
          y: { field: "rate", type: "quantitative", title: "autoimmunity", scale: { domain: [0, 1] }, axis: { format: ".0%" } },
          strokeDash: { field: "alarms", type: "nominal", title: "benign alarms" },
        },
      },
    ],
  };
}
