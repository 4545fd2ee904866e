import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { DefenseConfigError } from "../errors.ts";

/**
 * A vaccine: what a vaccinator learned, as a JSON file. It records what it was trained on (a hash of the training
 * texts and the seed) so a result can name the exact vaccine that produced it; `model` is the vaccinator's own.
 */
export const VaccineArtifactSchema = z.strictObject({
  vaccinator: z.string().min(1),
  version: z.string(),
  trained_on: z.strictObject({ split: z.string(), examples: z.number().int().min(0), hash: z.string(), seed: z.number().int() }),
  model: z.record(z.string(), z.unknown()),
});
export type VaccineArtifact = z.infer<typeof VaccineArtifactSchema>;

export function loadVaccineArtifact(path: string): VaccineArtifact {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new DefenseConfigError(`${path}: cannot read the vaccine artifact: ${(error as Error).message}`);
  }
  const parsed = VaccineArtifactSchema.safeParse(json);
  if (!parsed.success) throw new DefenseConfigError(`${path}: invalid vaccine artifact: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** What a training run is told besides its data: its seed and the name of the split the attacks come from. */
export interface TrainingRun {
  readonly seed: number;
  readonly split: string;
}

export const trainingHash = (texts: readonly string[]) => createHash("sha256").update(texts.join("\u0000")).digest("hex").slice(0, 16);

/** What a vaccine recognised in a text: the offending part, and why. */
export interface Detection {
  readonly evidence: string;
  readonly reason: string;
}

/** A vaccine applied: recognises attack text, or returns null. */
export type Detector = (text: string) => Detection | null;

/** How deep a vaccine goes: superficial ones recognise text they saw; deep ones change what is recognised. */
export type VaccineDepth = "superficial" | "deep";

/** A vaccinator learns a vaccine from attack texts it was shown and benign "self" texts it must not react to. */
export interface Vaccinator {
  readonly id: string;
  readonly description: string;
  readonly depth: VaccineDepth;
  train(attacks: readonly string[], self: readonly string[], run: TrainingRun): VaccineArtifact;
  /** The detector of a trained model (`artifact.model`); throws when the model is not this vaccinator's. */
  detector(model: Readonly<Record<string, unknown>>): Detector;
}

/** Words of a text as the vaccines compare them: each normalised (case, look-alikes, zero-width, marks folded). */
export function words(text: string, normalise: (t: string) => string): string[] {
  return text.split(/\s+/).map(normalise).filter(Boolean);
}
