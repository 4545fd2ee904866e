import { z } from "zod";
import { decodeObfuscations, proseSentences } from "../util/decode.ts";
import { normalise } from "../util/normalise.ts";
import { allow, block, type HookScope } from "../types.ts";
import { type Action, trainingHash, type Vaccinator } from "./artifact.ts";
import { ActionObserver, effectKey } from "./behaviour.ts";
import { MIN_LETTERS, type NaiveBayesModel, NaiveBayesModelSchema, naiveBayesModel, naiveBayesScore, selfFold } from "./naive-bayes.ts";

/**
 * The quantile of unseen self scores the text signal's threshold sits at: one self sentence in twenty over it, the
 * conventional operating point. Lower is more sensitive (the text signal never acts alone). Validation on the train
 * half alone (self from one half of its tasks, alarms on the other) allowed 0.8, but at 0.8 the held-out half's
 * autoimmunity rose from 0.03 to 0.11 and, on AgentDojo's real runs, 0.33 of benign acting calls were stopped
 * against 0.03 at 0.95, for 0.73 of attacker calls against 0.72. `vaccinate`, `generalize` and `replay` take
 * `--operating-point` to choose another.
 */
const THYMUS_QUANTILE = 0.95;

/**
 * The danger signal's effects: those of attacker actions more frequent among them than among benign actions
 * (Laplace-smoothed), reads excepted — reading harms nothing by itself. Sending to an address found in a document is
 * ordinary work; it stays a danger only if attacks do it more often than self does.
 */
function dangerousEffects(attack: readonly Action[], self: readonly Action[]): string[] {
  const frequency = (actions: readonly Action[]) => {
    const counts = new Map<string, number>();
    for (const a of actions) counts.set(effectKey(a), (counts.get(effectKey(a)) ?? 0) + 1);
    return (key: string) => ((counts.get(key) ?? 0) + 1) / (actions.length + 1);
  };
  const inAttacks = frequency(attack);
  const inSelf = frequency(self);
  return [...new Set(attack.map(effectKey))].filter((k) => !k.startsWith("read|") && inAttacks(k) > inSelf(k)).sort();
}

/** Self sentences are cross-fitted in this many folds, by a hash of their text. */
const FOLDS = 4;

/** A sentence as the text signal reads it, and as a model would read it with its encodings undone. */
interface Reading {
  readonly text: string;
  readonly decoded: string;
}

/**
 * The sentences of texts that can carry an instruction: four words or more, once decoded. A name, an address or a
 * date alone tells an agent to do nothing, and short fields are where benign and attack text look most alike.
 */
function readings(texts: readonly string[]): Reading[] {
  return texts
    .flatMap(proseSentences)
    .filter((text) => normalise(text).length >= MIN_LETTERS)
    .map((text) => ({ text, decoded: decodeObfuscations(text).text }))
    .filter((r) => r.decoded.trim().split(/\s+/).length >= 4);
}

/** A sentence's score: the higher of its text and its text with encodings undone. */
const textScore = (r: Reading, model: NaiveBayesModel) => Math.max(naiveBayesScore(r.text, model), naiveBayesScore(r.decoded, model));

const Model = z.strictObject({
  /** Signal one: a naive Bayes text model (see naive-bayes.ts) with its threshold at the thymus quantile. */
  text: NaiveBayesModelSchema,
  thymus_quantile: z.number(),
  /** Signal two: the effects (risk class, target origin, taint) more frequent in attacker actions than in benign ones. */
  effects: z.array(z.string()),
});
type CostimulationModel = z.infer<typeof Model>;

/**
 * The two signals of one trained model: whether a sentence of untrusted content looks like the attacks, and whether
 * an action has an attack's effect.
 */
function signals(raw: Readonly<Record<string, unknown>>) {
  const model: CostimulationModel = Model.parse(raw);
  const effects = new Set(model.effects);
  return {
    looksLikeAttack: (r: Reading) => textScore(r, model.text) > model.text.threshold,
    harmful: (action: Action) => effects.has(effectKey(action)),
  };
}

/** Per agent: what it has read and done, and the untrusted sentences that gave signal one. */
class Costimulation {
  readonly observer = new ActionObserver();
  readonly antigens = new Map<string, string[]>();
}

/**
 * Co-stimulation, after the two-signal rule of T-cell activation: a cell that recognises an antigen acts only with a
 * second, danger signal. Signal one is learned from texts: a naive Bayes model of attack sentences against self,
 * its threshold at the 95th percentile of self sentences scored by models that never saw them (cross-fitted) —
 * sensitive, because it never acts alone; it reads the prose of tool outputs (the strings of JSON, not its keys). Signal two is
 * learned from traces: the effects more typical of the seen attacks' actions than of benign work (an outside sink, a
 * destructive or privileged call; where its target was first named; after untrusted content). A
 * tool call is refused only when it has a learned effect *and* the agent has read an untrusted sentence over the
 * threshold. Benign work that reads attack-like text but does nothing harmful, or does something risky after reading
 * ordinary text, is left alone; wording the text model never saw is still caught when it drives a harmful action the
 * effects know.
 */
export const costimulation: Vaccinator = {
  id: "co-stimulation",
  description: "Two learned signals: untrusted text like the attacks (naive Bayes, 95th percentile of unseen self) and an attack effect; refuses a call only with both",
  depth: "deep",
  learnsFrom: "texts and actions",
  operatingPoint: THYMUS_QUANTILE,
  train(data, run) {
    const self = [...new Map(readings(data.self).map((r) => [r.text, r])).values()];
    const tolerated = readings(data.tolerated ?? []).map((r) => r.text);
    // Attack sentences are learned as written and as decoded: an encoding the model sees through teaches its words.
    const attackSentences = readings(data.attacks).flatMap((r) => [...new Set([r.text, r.decoded])]);
    // Each self sentence is scored by a model fitted without its fold, so the operating point is read off scores of
    // self the model never saw; the vaccine itself learns from all of self.
    const unseenScores = Array.from({ length: FOLDS }, (_, fold) => {
      const model = naiveBayesModel(attackSentences, [...self.filter((r) => selfFold(r.text, FOLDS) !== fold).map((r) => r.text), ...tolerated]);
      return self.filter((r) => selfFold(r.text, FOLDS) === fold).map((r) => textScore(r, model));
    })
      .flat()
      .sort((a, b) => a - b);
    const text = naiveBayesModel(attackSentences, [...self.map((r) => r.text), ...tolerated]);
    const quantile = run.operatingPoint ?? THYMUS_QUANTILE;
    if (text.threshold < 1e9 && unseenScores.length > 0) text.threshold = Math.round(unseenScores[Math.floor(quantile * (unseenScores.length - 1))]! * 1e6) / 1e6;
    const effects = dangerousEffects(data.attackActions ?? [], data.selfActions ?? []);
    return {
      vaccinator: this.id,
      version: "1",
      trained_on: {
        split: run.split,
        examples: data.attacks.length + (data.attackActions ?? []).length,
        hash: trainingHash([...data.attacks, "\u0001", ...data.self, "\u0001", ...(data.attackActions ?? []).map(effectKey), "\u0001", ...(data.selfActions ?? []).map(effectKey), "\u0001", ...(data.tolerated ?? [])]),
        seed: run.seed,
      },
      model: { text, thymus_quantile: quantile, effects },
    };
  },
  hooks(raw) {
    const { looksLikeAttack, harmful } = signals(raw);
    const state = (scope: HookScope) => {
      const s = scope.state("vaccine:co-stimulation", () => new Costimulation());
      let antigens = s.antigens.get(scope.agent);
      if (!antigens) s.antigens.set(scope.agent, (antigens = []));
      return { observer: s.observer, antigens };
    };
    return {
      onContext(entry, scope) {
        const { observer, antigens } = state(scope);
        observer.context(entry, scope);
        if (entry.provenance.trust !== "trusted") antigens.push(...readings([entry.content]).filter(looksLikeAttack).map((r) => r.text));
        return allow;
      },
      onToolCall(call, scope) {
        const { observer, antigens } = state(scope);
        const action = observer.action(call, scope);
        if (antigens.length === 0 || !harmful(action)) return allow;
        return block(
          "vaccine.co-stimulation",
          `${call.tool.name} (${action.sensitivity}, target from ${action.origin}) has a learned attack effect, after untrusted text like the attacks`,
          antigens.slice(-3).join("\n"),
        );
      },
    };
  },
};
