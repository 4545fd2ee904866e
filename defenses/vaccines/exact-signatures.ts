import { normalise } from "../util/normalise.ts";
import { sentences } from "../util/decode.ts";
import { type TrainingRun, trainingHash, type VaccineArtifact } from "./artifact.ts";

/**
 * The most superficial vaccinator: remembers every sentence of every attack text it was shown (normalised), minus
 * the sentences that also occur in benign "self" texts. It stops exactly what it has seen — the baseline that
 * generalisation is measured against.
 */
export function trainExactSignatures(attacks: readonly string[], self: readonly string[], run: TrainingRun): VaccineArtifact {
  const benign = new Set(self.flatMap((t) => sentences(t).map(normalise)));
  const signatures = new Set<string>();
  for (const text of attacks) {
    for (const sentence of sentences(text)) {
      const n = normalise(sentence);
      if (n.length >= 24 && !benign.has(n)) signatures.add(n);
    }
  }
  return {
    vaccinator: "exact-signatures",
    version: "1",
    trained_on: { split: run.split, examples: attacks.length, hash: trainingHash([...attacks, "\u0001", ...self]), seed: run.seed },
    signatures: [...signatures].sort(),
  };
}
