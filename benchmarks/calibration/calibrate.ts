/**
 * `anis calibrate`: fits a simulated model's compliance to real runs. Maximum a posteriori logistic regression
 * over the runs in which the model read the injection (outcome: the attacker's goal reached), one model at a time,
 * with each effect's prior from a base profile; the fit's fidelity is measured on runs it did not see.
 */
import { uniform } from "../../defenses/util/uniform.ts";
import { FRAMING_FEATURES, type FramingFeature } from "../../agents/models/sim/framing.ts";
import { COMPLIANCE_FEATURES, type ComplianceFeature, logitOf, type Parameter, type Perceived, ProfileFile } from "../../agents/models/sim/profiles.ts";
import { fitLogistic, predict, type Prior } from "./logistic.ts";
import { answersToOf, type AttackedRuns, type Observation } from "./observations.ts";
import { wilson } from "../wilson.ts";

const isFraming = (f: ComplianceFeature): f is FramingFeature => (FRAMING_FEATURES as readonly string[]).includes(f);
const rowOf = (p: Perceived): number[] => [1, ...COMPLIANCE_FEATURES.map((f) => (p[f] ? 1 : 0))];

/** Priors from a base profile: its estimates, with standard deviations from its intervals (at least `floor`). */
export function priorsOf(base: ProfileFile, floor = 0.25): Prior[] {
  if (base.compliance.kind !== "logistic") throw new Error(`profile ${base.name} has no logistic compliance to start a fit from`);
  const { intercept, effects } = base.compliance;
  const sdOf = (p: Parameter, least: number) => Math.max(least, p.interval ? (p.interval[1] - p.interval[0]) / (2 * 1.96) : 1);
  return [{ mean: intercept.estimate, sd: Math.max(3, sdOf(intercept, 3)) }, ...COMPLIANCE_FEATURES.map((f) => ({ mean: effects[f].estimate, sd: sdOf(effects[f], floor) }))];
}

export interface RateRow {
  readonly key: string;
  readonly runs: number;
  readonly observed: number;
  readonly observed_interval: readonly [number, number];
  readonly predicted: number;
}

export interface Score {
  readonly runs: number;
  readonly log_loss: number;
  readonly brier: number;
  /** The same scores for a constant rate (the training runs' mean). */
  readonly baseline_log_loss: number;
  readonly baseline_brier: number;
}

export interface Fidelity {
  /** Five folds of (suite, user task, injection task) pairs: each fold predicted by a fit on the other four. */
  readonly held_out: Score;
  /** Each attack predicted by a fit without it; null where the model's runs have one attack only. */
  readonly leave_one_attack_out: { readonly overall: Score; readonly attacks: readonly (RateRow & { readonly log_loss: number; readonly baseline_log_loss: number })[] } | null;
  readonly by_attack: readonly RateRow[];
  readonly by_suite: readonly RateRow[];
  readonly by_pipeline: readonly RateRow[];
  /** Held-out predictions in ten bins of predicted probability. */
  readonly calibration: readonly { readonly bin: string; readonly runs: number; readonly predicted: number; readonly observed: number }[];
}

const clampP = (p: number) => Math.min(1 - 1e-6, Math.max(1e-6, p));
const logLoss = (y: boolean, p: number) => -(y ? Math.log(clampP(p)) : Math.log(1 - clampP(p)));
const brier = (y: boolean, p: number) => ((y ? 1 : 0) - p) ** 2;

function score(obs: readonly Observation[], predicted: readonly number[], baseline: readonly number[]): Score {
  const n = obs.length;
  const sum = (f: (i: number) => number) => obs.reduce((s, _, i) => s + f(i), 0) / Math.max(1, n);
  return {
    runs: n,
    log_loss: sum((i) => logLoss(obs[i]!.success, predicted[i]!)),
    brier: sum((i) => brier(obs[i]!.success, predicted[i]!)),
    baseline_log_loss: sum((i) => logLoss(obs[i]!.success, baseline[i]!)),
    baseline_brier: sum((i) => brier(obs[i]!.success, baseline[i]!)),
  };
}

function rates(obs: readonly Observation[], predicted: readonly number[], keyOf: (o: Observation) => string): RateRow[] {
  const groups = new Map<string, { n: number; y: number; p: number }>();
  obs.forEach((o, i) => {
    const g = groups.get(keyOf(o)) ?? { n: 0, y: 0, p: 0 };
    g.n++;
    g.y += o.success ? 1 : 0;
    g.p += predicted[i]!;
    groups.set(keyOf(o), g);
  });
  return [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, g]) => ({ key, runs: g.n, observed: g.y / g.n, observed_interval: wilson(g.y, g.n), predicted: g.p / g.n }));
}

const mean = (obs: readonly Observation[]) => obs.filter((o) => o.success).length / Math.max(1, obs.length);

/** Which fold a (suite, user task, injection task) pair is in: fixed by the pair, not by the order of the runs. */
const foldOf = (o: Observation, folds: number) => Math.floor(uniform(`${o.suite}|${o.user_task}|${o.injection_task}`) * folds);

function fitOn(obs: readonly Observation[], priors: readonly Prior[]) {
  return fitLogistic(obs.map((o) => rowOf(o.perceived)), obs.map((o) => (o.success ? 1 : 0)), priors).beta;
}

export function fidelityOf(obs: readonly Observation[], priors: readonly Prior[], folds = 5): Fidelity {
  const predicted = new Array<number>(obs.length).fill(0);
  const baseline = new Array<number>(obs.length).fill(0);
  for (let k = 0; k < folds; k++) {
    const train = obs.filter((o) => foldOf(o, folds) !== k);
    const beta = fitOn(train, priors);
    const rate = mean(train);
    obs.forEach((o, i) => {
      if (foldOf(o, folds) !== k) return;
      predicted[i] = predict(beta, rowOf(o.perceived));
      baseline[i] = rate;
    });
  }
  const attacks = [...new Set(obs.map((o) => o.attack))].sort();
  let loao: Fidelity["leave_one_attack_out"] = null;
  if (attacks.length > 1) {
    const p = new Array<number>(obs.length).fill(0);
    const b = new Array<number>(obs.length).fill(0);
    const rows = attacks.map((attack) => {
      const train = obs.filter((o) => o.attack !== attack);
      const beta = fitOn(train, priors);
      const rate = mean(train);
      const idx = obs.flatMap((o, i) => (o.attack === attack ? [i] : []));
      for (const i of idx) {
        p[i] = predict(beta, rowOf(obs[i]!.perceived));
        b[i] = rate;
      }
      const part = idx.map((i) => obs[i]!);
      const s = score(part, idx.map((i) => p[i]!), idx.map((i) => b[i]!));
      const y = part.filter((o) => o.success).length;
      return { key: attack, runs: part.length, observed: y / part.length, observed_interval: wilson(y, part.length), predicted: s.runs === 0 ? 0 : idx.reduce((t, i) => t + p[i]!, 0) / idx.length, log_loss: s.log_loss, baseline_log_loss: s.baseline_log_loss };
    });
    loao = { overall: score(obs, p, b), attacks: rows };
  }
  const bins = Array.from({ length: 10 }, (_, j) => ({ bin: `${(j / 10).toFixed(1)}–${((j + 1) / 10).toFixed(1)}`, runs: 0, predicted: 0, observed: 0 }));
  obs.forEach((o, i) => {
    const bin = bins[Math.min(9, Math.floor(predicted[i]! * 10))]!;
    bin.runs++;
    bin.predicted += predicted[i]!;
    bin.observed += o.success ? 1 : 0;
  });
  return {
    held_out: score(obs, predicted, baseline),
    leave_one_attack_out: loao,
    by_attack: rates(obs, predicted, (o) => o.attack),
    by_suite: rates(obs, predicted, (o) => o.suite),
    by_pipeline: rates(obs, predicted, (o) => o.defense),
    calibration: bins.filter((b) => b.runs > 0).map((b) => ({ bin: b.bin, runs: b.runs, predicted: b.predicted / b.runs, observed: b.observed / b.runs })),
  };
}

export interface Calibration {
  readonly profile: ProfileFile;
  readonly fidelity: Fidelity;
  /** Real ASR under the source's strongest attack without defense, and what the fitted profile predicts for it. */
  readonly overall: { readonly attack: string; readonly runs: number; readonly real_asr: number; readonly read_share: number; readonly compliance: number; readonly predicted_asr: number } | null;
}

/**
 * Fits one model's profile. Effects its runs never vary keep the base profile's estimate (marked unfitted, with the
 * base's source); the rest are fitted, with 95% intervals from the Laplace approximation.
 */
export function calibrateModel(options: {
  readonly model: string;
  readonly observations: readonly Observation[];
  readonly attacked: readonly AttackedRuns[];
  readonly base: ProfileFile;
  readonly data: { readonly source: string; readonly digest: string };
  readonly headlineAttack?: string;
}): Calibration {
  const { model, base } = options;
  const obs = options.observations.filter((o) => o.model === model);
  if (obs.length === 0) throw new Error(`no runs of model ${model} read an injection in the trajectory tables`);
  if (base.compliance.kind !== "logistic") throw new Error(`base profile ${base.name} has no logistic compliance`);
  const varied = (f: ComplianceFeature) =>
    obs.some((o) => o.perceived[f]) && obs.some((o) => !o.perceived[f]) && (!isFraming(f) || obs.some((o) => o.planted[f]));
  // An effect the data cannot speak to stays at its prior: pinned, so that it does not soak up what other features
  // (or the suites' own differences, through the content around a planted text) explain.
  const priors = priorsOf(base).map((prior, j) => (j === 0 || varied(COMPLIANCE_FEATURES[j - 1]!) ? prior : { mean: prior.mean, sd: 1e-3 }));
  const fit = fitLogistic(obs.map((o) => rowOf(o.perceived)), obs.map((o) => (o.success ? 1 : 0)), priors);
  const pipelines = [...new Set(obs.map((o) => o.pipeline))].sort();
  const fittedSource = `fitted: ${obs.length} runs of ${model} that read an injection (${pipelines.join(", ")}; ${options.data.source})`;
  const parameter = (j: number, fitted: boolean, prior: Parameter): Parameter => {
    const estimate = round(fit.beta[j]!);
    return fitted
      ? { estimate, interval: [round(fit.beta[j]! - 1.96 * fit.se[j]!), round(fit.beta[j]! + 1.96 * fit.se[j]!)], source: fittedSource, fitted: true }
      : { ...prior, source: prior.source.startsWith("not varied") ? prior.source : `not varied in ${model}'s runs: ${base.provenance.kind === "fitted" ? `from ${base.name}'s fit` : "prior"} — ${prior.source}`, fitted: false };
  };
  const effects = Object.fromEntries(COMPLIANCE_FEATURES.map((f, i) => [f, parameter(i + 1, varied(f), base.compliance.kind === "logistic" ? base.compliance.effects[f] : (undefined as never))])) as Record<ComplianceFeature, Parameter>;
  const fidelity = fidelityOf(obs, priors);
  const profile: ProfileFile = ProfileFile.parse({
    schema_version: 1,
    // A profile's name is a file name: our own runs name models `openai:NAME`.
    name: model.replace(/[^\w.-]+/g, "-"),
    description: `${model}, fitted to ${obs.length} of its real runs that read an injection (AgentDojo logs)`,
    provenance: {
      kind: "fitted",
      summary: `anis calibrate: maximum a posteriori logistic regression of the attacker's goal reached on what the model perceived, priors from ${base.name}`,
      data: { source: options.data.source, digest: options.data.digest, runs: obs.length, pipelines },
    },
    reads: base.reads,
    answers_to: answersToOf(model),
    when_ungrounded: base.when_ungrounded,
    masked_agreement: base.masked_agreement,
    user_request_compliance: base.user_request_compliance,
    compliance: { kind: "logistic", intercept: parameter(0, true, base.compliance.intercept), effects },
    fidelity: summaryOf(fidelity),
  });
  return { profile, fidelity, overall: overallOf(model, obs, options.attacked, profile, options.headlineAttack ?? "important_instructions") };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** The fidelity figures a profile file keeps. */
function summaryOf(f: Fidelity): Record<string, unknown> {
  const r = (s: Score) => ({ runs: s.runs, log_loss: round(s.log_loss), brier: round(s.brier), baseline_log_loss: round(s.baseline_log_loss), baseline_brier: round(s.baseline_brier) });
  return { held_out: r(f.held_out), ...(f.leave_one_attack_out && { leave_one_attack_out: r(f.leave_one_attack_out.overall) }) };
}

function overallOf(model: string, obs: readonly Observation[], attacked: readonly AttackedRuns[], profile: ProfileFile, attack: string): Calibration["overall"] {
  const runs = attacked.find((a) => a.model === model && a.defense === "none" && a.attack === attack);
  const read = obs.filter((o) => o.defense === "none" && o.attack === attack);
  if (!runs || read.length === 0 || profile.compliance.kind !== "logistic") return null;
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const compliance = read.reduce((s, o) => s + sigmoid(logitOf(profile.compliance as Extract<ProfileFile["compliance"], { kind: "logistic" }>, o.perceived)), 0) / read.length;
  return { attack, runs: runs.runs, real_asr: runs.successes / runs.runs, read_share: read.length / runs.runs, compliance, predicted_asr: (compliance * read.length) / runs.runs };
}
