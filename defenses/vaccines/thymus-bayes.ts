import { textVaccineHooks, trainingHash, type Vaccinator } from "./artifact.ts";
import { learnableSentences, naiveBayesDetector, naiveBayesModel, naiveBayesScore, selfFold } from "./naive-bayes.ts";

/** A self sentence's role, by a hash of its text: most teach the classifier what self looks like, the rest are the thymus. */
const inThymus = (sentence: string) => selfFold(sentence, 4) === 0;

/**
 * Naive Bayes with a thymus-set operating point. The classifier learns from the attack sentences against three
 * quarters of the self sentences; the quarter it never saw (chosen by a hash of each sentence) is the thymus, and
 * the threshold is set above every score the thymus gets. A threshold set on self the model was fitted to is
 * optimistic — those sentences score low because they were counted — while unseen benign text scores as any new
 * text does; the thymus measures that, so the vaccine reacts less to the content of tasks it never saw.
 */
export const thymusBayes: Vaccinator = {
  id: "naive-bayes-thymus",
  description: "Naive Bayes over hashed character 4-grams; the threshold set on self sentences the model never saw (a thymus)",
  depth: "deep",
  learnsFrom: "texts",
  train({ attacks, self }, run) {
    const selfSentences = learnableSentences(self);
    const fit = selfSentences.filter((s) => !inThymus(s));
    const thymus = selfSentences.filter(inThymus);
    const model = naiveBayesModel(learnableSentences(attacks), fit);
    const highest = Math.max(...[...thymus, ...fit].map((s) => naiveBayesScore(s, model)));
    model.threshold = model.threshold >= 1e9 || !Number.isFinite(highest) ? 1e9 : Math.round((highest + 0.05) * 1e6) / 1e6;
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
