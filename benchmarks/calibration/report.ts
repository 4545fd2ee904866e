import { COMPLIANCE_FEATURES, type ProfileFile } from "../../agents/models/sim/profiles.ts";
import type { Calibration, RateRow, Score } from "./calibrate.ts";

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => (100 * x).toFixed(1);

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

const scoreLine = (name: string, s: Score) =>
  `${name}: ${s.runs} runs, log loss ${f3(s.log_loss)} (constant rate ${f3(s.baseline_log_loss)}), Brier ${f3(s.brier)} (constant rate ${f3(s.baseline_brier)})`;

const rateRows = (rows: readonly RateRow[]) =>
  rows.map((r) => [r.key, String(r.runs), `${pct(r.observed)} [${pct(r.observed_interval[0])}–${pct(r.observed_interval[1])}]`, pct(r.predicted)]);

/** A profile's parameters as a table: estimate, interval, fitted or not. */
export function parameterTable(profile: ProfileFile): string {
  if (profile.compliance.kind !== "logistic") return "compliance: always 1";
  const { intercept, effects } = profile.compliance;
  const interval = (i: readonly [number, number] | null) => (i ? `[${f2(i[0])}, ${f2(i[1])}]` : "");
  return table(
    ["parameter (log-odds)", "estimate", "95% interval", "from"],
    [
      ["intercept", f2(intercept.estimate), interval(intercept.interval), intercept.fitted ? "fit" : "prior"],
      ...COMPLIANCE_FEATURES.map((f) => [f, f2(effects[f].estimate), interval(effects[f].interval), effects[f].fitted ? "fit" : "prior"]),
    ],
  );
}

/** What `anis calibrate` prints for one model. */
export function formatCalibration(c: Calibration): string {
  const { fidelity: f, profile } = c;
  const parts = [`# ${profile.name}`, "", parameterTable(profile), "", scoreLine("held-out pairs (5 folds)", f.held_out)];
  if (f.leave_one_attack_out) {
    parts.push(scoreLine("leave one attack out", f.leave_one_attack_out.overall), "");
    parts.push(
      table(
        ["attack left out", "runs", "observed % [95%]", "predicted %", "log loss", "constant"],
        f.leave_one_attack_out.attacks.map((a) => [a.key, String(a.runs), `${pct(a.observed)} [${pct(a.observed_interval[0])}–${pct(a.observed_interval[1])}]`, pct(a.predicted), f3(a.log_loss), f3(a.baseline_log_loss)]),
      ),
    );
  }
  parts.push("", "held-out predictions:", table(["attack", "runs", "observed % [95%]", "predicted %"], rateRows(f.by_attack)));
  parts.push("", table(["suite", "runs", "observed % [95%]", "predicted %"], rateRows(f.by_suite)));
  parts.push("", table(["pipeline defense", "runs", "observed % [95%]", "predicted %"], rateRows(f.by_pipeline)));
  parts.push("", "calibration (held out):", table(["predicted", "runs", "mean predicted", "observed"], f.calibration.map((b) => [b.bin, String(b.runs), f3(b.predicted), f3(b.observed)])));
  if (c.overall) {
    const o = c.overall;
    parts.push("", `${o.attack}, no defense: real ASR ${pct(o.real_asr)}% of ${o.runs} runs; the model read the injection in ${pct(o.read_share)}%; fitted compliance ${pct(o.compliance)}% → predicted ASR ${pct(o.predicted_asr)}%`);
  }
  return parts.join("\n");
}

/** The table of every fitted model: fitted compliance against the real ASR. */
export function formatModels(calibrations: readonly Calibration[]): string {
  const rows = calibrations
    .filter((c) => c.overall)
    .map((c) => {
      const o = c.overall!;
      return [c.profile.name, String(o.runs), pct(o.real_asr), pct(o.read_share), pct(o.compliance), pct(o.predicted_asr), f3(c.fidelity.held_out.log_loss), f3(c.fidelity.held_out.baseline_log_loss)];
    });
  return table(["model", "runs", "real ASR %", "read %", "fitted compliance %", "predicted ASR %", "held-out log loss", "constant"], rows);
}
