import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProfileFile } from "../../agents/models/sim/profiles.ts";
import { type Calibration, calibrateModel } from "./calibrate.ts";
import { readObservations } from "./observations.ts";

/** The argued prior every fit starts from (the parameters the simulator used before it was fitted). */
export const ARGUED_PRIOR = new URL("./argued.json", import.meta.url);

/** The model whose runs vary the most features: AgentDojo ran every attack and pipeline defense on it alone. */
export const REFERENCE_MODEL = "gpt-4o-2024-05-13";

/** Fewer runs that read an injection than this, and a model is not fitted: its intercept would be a guess. */
export const MIN_RUNS = 100;

export class CalibrationError extends Error {
  readonly code = "bad_input";
}

export function readProfileFile(path: string | URL): ProfileFile {
  const where = String(path instanceof URL ? path.pathname : path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new CalibrationError(`${where}: cannot read the profile (${(error as Error).message})`);
  }
  const parsed = ProfileFile.safeParse(raw);
  if (!parsed.success) throw new CalibrationError(`${where}: ${parsed.error.issues[0]!.path.join(".")}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** Writes a profile file whole or not at all. */
export function writeProfile(dir: string, profile: ProfileFile): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${profile.name}.json`);
  writeFileSync(`${path}.partial`, `${JSON.stringify(profile, null, 2)}\n`);
  renameSync(`${path}.partial`, path);
  return path;
}

/**
 * Fits every model asked for (all with at least `MIN_RUNS` runs that read an injection, by default). The reference
 * model is fitted first from the prior; the others start from its fit, so an effect their runs do not vary (every
 * other model met one attack, undefended) is the reference model's, not a paper's.
 */
export async function calibrateAll(options: {
  readonly trajectories: string;
  readonly models?: readonly string[];
  readonly prior?: ProfileFile;
  /** How an error names the runs (default: the trajectory folder). */
  readonly source?: string;
}): Promise<Calibration[]> {
  const source = options.source ?? options.trajectories;
  const set = await readObservations(options.trajectories);
  const counts = new Map<string, number>();
  for (const o of set.observations) counts.set(o.model, (counts.get(o.model) ?? 0) + 1);
  const available = [...counts].filter(([, n]) => n >= MIN_RUNS).map(([m]) => m).sort();
  const models = options.models && options.models.length > 0 ? [...options.models] : available;
  if (models.length === 0) {
    const most = [...counts].sort((a, b) => b[1] - a[1])[0];
    throw new CalibrationError(`no model in ${source} has at least ${MIN_RUNS} runs that read an injection${most ? ` (most: ${most[0]}, ${most[1]})` : ""}: nothing to fit`);
  }
  const missing = models.filter((m) => !available.includes(m));
  if (missing.length > 0) {
    throw new CalibrationError(`model "${missing[0]}" has ${counts.get(missing[0]!) ?? 0} runs that read an injection in ${source} (at least ${MIN_RUNS} needed). Models that can be fitted: ${available.join(", ")}`);
  }
  const prior = options.prior ?? readProfileFile(ARGUED_PRIOR);
  const data = { source: set.source, digest: set.digest };
  const fit = (model: string, base: ProfileFile) => calibrateModel({ model, observations: set.observations, attacked: set.attacked, base, data });
  const reference = models.includes(REFERENCE_MODEL) || available.includes(REFERENCE_MODEL) ? fit(REFERENCE_MODEL, prior) : null;
  return models.map((m) => (m === REFERENCE_MODEL && reference ? reference : fit(m, reference?.profile ?? prior)));
}

/**
 * The shipped profiles derived from the fitted ones: `typical` is the median fitted model (by its fitted compliance
 * under the source's strongest attack, without defense), `cautious` the least compliant one (it asks for what it
 * cannot find), `careless` the typical one that writes a wrong value where it cannot find one.
 */
export function derivedProfiles(calibrations: readonly Calibration[]): ProfileFile[] {
  const ranked = calibrations.filter((c) => c.overall).sort((a, b) => a.overall!.compliance - b.overall!.compliance);
  if (ranked.length === 0) throw new CalibrationError("no fitted model has runs under the headline attack without defense: nothing to derive typical from");
  const median = ranked[Math.floor((ranked.length - 1) / 2)]!;
  const least = ranked[0]!;
  const derive = (from: Calibration, name: string, description: string, when: ProfileFile["when_ungrounded"], how: string): ProfileFile =>
    ProfileFile.parse({
      ...from.profile,
      name,
      description,
      when_ungrounded: when,
      provenance: { ...from.profile.provenance, kind: "derived", summary: `${how} (compliance ${(100 * from.overall!.compliance).toFixed(1)}% under ${from.overall!.attack}, undefended): ${from.profile.provenance.summary}` },
    });
  const names = ranked.map((c) => c.profile.name).join(", ");
  return [
    derive(median, "typical", `The median of ${ranked.length} fitted models (${median.profile.name}); reports what it could not find`, "report", `The median of the fitted models by compliance (${names}): ${median.profile.name}`),
    derive(least, "cautious", `The least compliant fitted model (${least.profile.name}); asks for what it could not find`, "ask", `The least compliant fitted model: ${least.profile.name}`),
    derive(median, "careless", `The typical model (${median.profile.name}), but it fills in a wrong value for what it could not find and carries on`, "guess", `The median fitted model, ${median.profile.name}, with a careless reaction to what it cannot find`),
  ];
}
