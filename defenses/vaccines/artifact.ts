import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { DefenseConfigError } from "../errors.ts";
import { PROJECT_ROOT } from "../import-graph.ts";
import { allow, type DefenseHooks, quarantine, type Sensitivity } from "../types.ts";

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

/**
 * A relative path is read from the working folder, or else from the project's root, where the shipped artifacts are
 * (`defenses/vaccines/artifacts/…`), so that the shipped configurations run from any folder and from an installed package.
 */
function artifactFile(path: string): string {
  if (isAbsolute(path) || existsSync(path)) return path;
  const shipped = join(PROJECT_ROOT, path);
  return existsSync(shipped) ? shipped : path;
}

export function loadVaccineArtifact(path: string): VaccineArtifact {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(artifactFile(path), "utf8"));
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
  /**
   * For a vaccinator whose threshold sits at a quantile of unseen self scores: that quantile, when Meta chooses it
   * on a thymus (lower reacts to more); its own default otherwise.
   */
  readonly operatingPoint?: number;
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

/** Where an action's targets were first named: in the request, in trusted content, only in untrusted content, nowhere. */
export type Origin = "none" | "request" | "trusted" | "untrusted";

/** A tool call as a behavioural vaccine sees it: what was done, to what kind of target, after what was read. */
export interface Action {
  readonly tool: string;
  readonly sensitivity: Sensitivity;
  readonly origin: Origin;
  /** Whether untrusted content was in the agent's context when it acted. */
  readonly afterUntrusted: boolean;
}

/**
 * What a vaccinator learns from: the attack texts of a split and the benign "self" texts; and, for behavioural
 * vaccinators, the actions the attacks made an undefended agent take, and the actions of benign work.
 */
export interface TrainingData {
  readonly attacks: readonly string[];
  readonly self: readonly string[];
  readonly attackActions?: readonly Action[];
  readonly selfActions?: readonly Action[];
  /** Self sentences a thymus found an earlier vaccine reacting to: always learned as self, never held out to calibrate. */
  readonly tolerated?: readonly string[];
}

/** A vaccinator learns a vaccine from what attacks looked like or did, and from benign "self" it must leave alone. */
export interface Vaccinator {
  readonly id: string;
  readonly description: string;
  readonly depth: VaccineDepth;
  /** What it learns from: attack and self texts, the actions in traces, or both. */
  readonly learnsFrom: "texts" | "actions" | "texts and actions";
  /** For a vaccinator whose threshold is an operating point (see {@link TrainingRun}): its default. */
  readonly operatingPoint?: number;
  train(data: TrainingData, run: TrainingRun): VaccineArtifact;
  /** The hooks of the L3 layer a trained model (`artifact.model`) makes; throws when the model is not its own. */
  hooks(model: Readonly<Record<string, unknown>>): DefenseHooks;
  /** For a vaccinator that learns from actions: whether a trained model refuses an action (the thymus's test). */
  recognizes?(model: Readonly<Record<string, unknown>>): (action: Action) => boolean;
}

/** The layer of a text vaccine: untrusted content its detector recognises is withheld, naming what it recognised. */
export function textVaccineHooks(id: string, detect: Detector): DefenseHooks {
  return {
    onContext(entry) {
      if (entry.provenance.trust === "trusted") return allow;
      const hit = detect(entry.content);
      return hit ? quarantine(`vaccine.${id}`, hit.reason, hit.evidence) : allow;
    },
  };
}

/** Words of a text as the vaccines compare them: each normalised (case, look-alikes, zero-width, marks folded). */
export function words(text: string, normalise: (t: string) => string): string[] {
  return text.split(/\s+/).map(normalise).filter(Boolean);
}
