import { createHash } from "node:crypto";
import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { normalise } from "../util/normalise.ts";
import { type Detector, textVaccineHooks, trainingHash, type Vaccinator, words } from "./artifact.ts";

/** Words per detector: a detector is a run of this many normalised words. */
const SPAN = 3;
const MAX_DETECTORS = 6000;
/** Distinct detectors a text must trip: one shared phrase is chance, two are a pattern. */
const MIN_HITS = 2;

const Model = z.strictObject({ span: z.number().int().min(1), min_hits: z.number().int().min(1), detectors: z.array(z.string().min(1)) });

const spans = (text: string, span: number): string[] => {
  const w = words(text, normalise);
  const out: string[] = [];
  for (let i = 0; i + span <= w.length; i++) out.push(w.slice(i, i + span).join(" "));
  return out;
};

/**
 * Negative selection (Forrest et al., 1994), the thymus of artificial immune systems. Candidate detectors are the
 * word trigrams of the attack texts; every candidate that matches any benign "self" text is deleted; a seeded
 * sample of the survivors (up to 6,000) is kept. A text is recognised when it trips two distinct detectors: a
 * paraphrase that reuses parts of a seen phrasing ("ignore all previous", "before you can solve") is caught even
 * when no sentence is the same.
 */
export const negativeSelection: Vaccinator = {
  id: "negative-selection",
  description: "Word-trigram detectors from attack texts, censored against self; a text tripping two is recognised",
  depth: "superficial",
  learnsFrom: "texts",
  train({ attacks, self }, run) {
    const selfSpans = new Set(self.flatMap((t) => spans(t, SPAN)));
    const candidates = [...new Set(attacks.flatMap((t) => spans(t, SPAN)))].filter((s) => !selfSpans.has(s));
    const order = (s: string) => createHash("sha256").update(`${run.seed}|${s}`).digest("hex");
    const detectors = candidates
      .map((s) => ({ s, key: order(s) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, MAX_DETECTORS)
      .map(({ s }) => s)
      .sort();
    return {
      vaccinator: this.id,
      version: "1",
      trained_on: { split: run.split, examples: attacks.length, hash: trainingHash([...attacks, "\u0001", ...self]), seed: run.seed },
      model: { span: SPAN, min_hits: MIN_HITS, detectors },
    };
  },
  hooks(raw) {
    return textVaccineHooks(this.id, negativeSelectionDetector(raw));
  },
};

/** The detector of a trained model. */
export function negativeSelectionDetector(raw: Readonly<Record<string, unknown>>): Detector {
  const model = Model.parse(raw);
  const detectors = new Set(model.detectors);
  return (text) => {
    const hits = new Set(spans(text, model.span).filter((s) => detectors.has(s)));
    if (hits.size < model.min_hits) return null;
    const carriers = sentences(text).filter((s) => spans(s, model.span).some((x) => hits.has(x)));
    return { evidence: carriers.join("\n"), reason: `trips ${hits.size} detectors (${[...hits].slice(0, 2).join(" | ")})` };
  };
}
