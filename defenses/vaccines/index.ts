import type { TrainingRun, VaccineArtifact } from "./artifact.ts";
import { trainExactSignatures } from "./exact-signatures.ts";

/** A vaccinator learns a vaccine from attack texts it was shown and benign "self" texts it must not react to. */
export interface Vaccinator {
  readonly id: string;
  readonly description: string;
  train(attacks: readonly string[], self: readonly string[], run: TrainingRun): VaccineArtifact;
}

/** Every vaccinator, by id. The vaccine issue adds the deeper ones (negative selection, n-grams, behaviour). */
export const VACCINATORS: ReadonlyMap<string, Vaccinator> = new Map([
  [
    "exact-signatures",
    { id: "exact-signatures", description: "Exact normalised sentences of seen attack texts, minus any that occur in benign self texts", train: trainExactSignatures },
  ],
]);
