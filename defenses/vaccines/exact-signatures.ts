import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { normalise } from "../util/normalise.ts";
import { type Detector, textVaccineHooks, trainingHash, type Vaccinator } from "./artifact.ts";

const Model = z.strictObject({ signatures: z.array(z.string().min(8)) });

/**
 * The most superficial vaccinator: remembers every sentence of every attack text it was shown (normalised), minus
 * the sentences that also occur in benign "self" texts. It stops exactly what it has seen — the baseline that
 * generalisation is measured against.
 */
export const exactSignatures: Vaccinator = {
  id: "exact-signatures",
  description: "Exact normalised sentences of seen attack texts, minus any that occur in benign self texts",
  depth: "superficial",
  learnsFrom: "texts",
  train({ attacks, self }, run) {
    const benign = new Set(self.flatMap((t) => sentences(t).map(normalise)));
    const signatures = new Set<string>();
    for (const text of attacks) {
      for (const sentence of sentences(text)) {
        const n = normalise(sentence);
        if (n.length >= 24 && !benign.has(n)) signatures.add(n);
      }
    }
    return {
      vaccinator: this.id,
      version: "2",
      trained_on: { split: run.split, examples: attacks.length, hash: trainingHash([...attacks, "\u0001", ...self]), seed: run.seed },
      model: { signatures: [...signatures].sort() },
    };
  },
  hooks(raw) {
    return textVaccineHooks(this.id, exactSignaturesDetector(raw));
  },
};

/** The detector of a trained model. */
export function exactSignaturesDetector(raw: Readonly<Record<string, unknown>>): Detector {
  const { signatures } = Model.parse(raw);
  return (text) => {
    const normal = normalise(text);
    const hit = signatures.find((s) => normal.includes(s));
    if (!hit) return null;
    const carriers = sentences(text).filter((s) => {
      const n = normalise(s);
      return n.length > 0 && (hit.includes(n) || n.includes(hit));
    });
    return { evidence: carriers.length > 0 ? carriers.join("\n") : text, reason: `carries a learned signature (${hit.slice(0, 40)}…)` };
  };
}
