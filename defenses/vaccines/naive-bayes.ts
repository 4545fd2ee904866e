import { createHash } from "node:crypto";
import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { normalise } from "../util/normalise.ts";
import { type Detector, textVaccineHooks, trainingHash, type Vaccinator } from "./artifact.ts";

/** Character n-gram length over normalised sentences (letters and digits only). */
const N = 4;
/** Sentences shorter than this (normalised) are neither learned nor judged. */
export const MIN_LETTERS = 12;
/** Features are hashed into this many buckets: the model stays small and fixed in size. */
const BUCKETS = 1 << 15;

export const NaiveBayesModelSchema = z.strictObject({
  n: z.number().int().min(1),
  buckets: z.number().int().min(1),
  /** Log-likelihood ratio per bucket, log P(g | attack) − log P(g | self), Laplace-smoothed; absent buckets are 0. */
  weights: z.record(z.string(), z.number()),
  prior: z.number(),
  threshold: z.number(),
});

/** FNV-1a: a stable hash of a gram into a bucket. */
function bucket(gram: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < gram.length; i++) h = Math.imul(h ^ gram.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

const grams = (sentence: string, n: number, buckets: number): number[] => {
  const s = normalise(sentence);
  const out: number[] = [];
  for (let i = 0; i + n <= s.length; i++) out.push(bucket(s.slice(i, i + n), buckets));
  return out;
};

export type NaiveBayesModel = z.infer<typeof NaiveBayesModelSchema>;

/** The sentences of texts long enough to learn from, and to judge. */
export const learnableSentences = (texts: readonly string[]) => texts.flatMap(sentences).filter((s) => normalise(s).length >= MIN_LETTERS);

/** Which of `folds` folds a self sentence falls in, by a hash of its text: how self is split to calibrate on unseen sentences. */
export const selfFold = (sentence: string, folds: number) => createHash("sha256").update(normalise(sentence)).digest()[0]! % folds;

/** A sentence's length-normalised log-likelihood ratio, attack over self. */
export const naiveBayesScore = (sentence: string, model: NaiveBayesModel) => {
  const g = grams(sentence, model.n, model.buckets);
  if (g.length === 0) return -Infinity;
  let total = model.prior;
  for (const b of g) total += model.weights[b] ?? 0;
  return total / Math.sqrt(g.length);
};

/**
 * The classifier from attack and self sentences, its threshold just above the highest self score (1e9, reacting to
 * nothing, when there is nothing to learn from).
 */
export function naiveBayesModel(attackSentences: readonly string[], selfSentences: readonly string[]): NaiveBayesModel {
  const counts = (texts: readonly string[]) => {
    const c = new Map<number, number>();
    let total = 0;
    for (const t of texts) for (const b of grams(t, N, BUCKETS)) (c.set(b, (c.get(b) ?? 0) + 1), total++);
    return { c, total };
  };
  const a = counts(attackSentences);
  const s = counts(selfSentences);
  const weights: Record<string, number> = {};
  for (const b of new Set([...a.c.keys(), ...s.c.keys()])) {
    const w = Math.log(((a.c.get(b) ?? 0) + 1) / (a.total + BUCKETS)) - Math.log(((s.c.get(b) ?? 0) + 1) / (s.total + BUCKETS));
    weights[b] = Math.round(w * 1e6) / 1e6;
  }
  const model = { n: N, buckets: BUCKETS, weights, prior: Math.log(Math.max(1, attackSentences.length) / Math.max(1, selfSentences.length)), threshold: 0 };
  const selfMax = Math.max(...selfSentences.map((t) => naiveBayesScore(t, model)));
  model.threshold = attackSentences.length === 0 || !Number.isFinite(selfMax) ? 1e9 : Math.round((selfMax + 0.05) * 1e6) / 1e6;
  return model;
}

/**
 * A multinomial naive Bayes classifier over hashed character 4-grams of normalised sentences: attack sentences
 * against the sentences of the self corpus, trained here, deterministic. The decision threshold is set just above
 * the highest score any self sentence gets, so the vaccine reacts to nothing it was shown as self; scores are
 * length-normalised so long benign sentences do not drift over it. It learns the texture of injections (imperatives
 * to an assistant, urgency, tool names next to outside addresses), not their exact words.
 */
export const naiveBayes: Vaccinator = {
  id: "naive-bayes",
  description: "Naive Bayes over hashed character 4-grams of sentences, attack vs self; threshold above every self sentence",
  depth: "deep",
  learnsFrom: "texts",
  train({ attacks, self }, run) {
    const model = naiveBayesModel(learnableSentences(attacks), learnableSentences(self));
    return {
      vaccinator: this.id,
      version: "1",
      trained_on: { split: run.split, examples: attacks.length, hash: trainingHash([...attacks, "\u0001", ...self]), seed: run.seed },
      model,
    };
  },
  hooks(raw) {
    return textVaccineHooks(this.id, naiveBayesDetector(raw));
  },
};

/** The detector of a trained model. */
export function naiveBayesDetector(raw: Readonly<Record<string, unknown>>): Detector {
  const model = NaiveBayesModelSchema.parse(raw);
  return (text) => {
    // A sentence too short to learn from is too short to judge.
    const flagged = sentences(text).filter((s) => normalise(s).length >= MIN_LETTERS && naiveBayesScore(s, model) > model.threshold);
    return flagged.length === 0 ? null : { evidence: flagged.join("\n"), reason: `${flagged.length} sentence(s) classified as injection (naive Bayes)` };
  };
}
