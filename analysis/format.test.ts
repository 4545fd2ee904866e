import { describe, expect, it } from "vitest";
import { formatTable, TABLE_WIDTH } from "./format.ts";
import type { ReportRow } from "./report.ts";

/** Report rows as computeReport returns them, with the intervals of every rate. */
let made = 0;
const row = (defense: string, model: string, rates: Partial<Record<string, number>> = {}): ReportRow => {
  const k = made++ / 20;
  const r: Record<string, unknown> = { defense, model, n_benign: 410, n_attack: 530, errors: 0, defense_error_rate: 0, defense_us_per_step: 12.5, trained_on: null, training: false, attacks_scored: "all" };
  for (const key of ["benign_utility", "asr", "block_rate", "autoimmunity", "autoimmunity_hard_negative", "rewrite_rate", "harmful_autoimmunity", "utility_under_attack", "friction"]) {
    const v = rates[key] ?? 0.4 + k;
    Object.assign(r, { [key]: v, [`${key}_lo`]: Math.max(0, v - 0.03), [`${key}_hi`]: Math.min(1, v + 0.03) });
  }
  return r as ReportRow;
};
const rows = [row("l1", "sim:obedient", { block_rate: 0.87 }), row("tower-with-a-long-name", "sim:obedient", { block_rate: 0.99 }), row("none", "sim:obedient", { block_rate: 0 }), row("none", "sim:typical"), row("l1", "sim:typical", { asr: 0.01 })];

describe("the printed report", () => {
  it("puts the baseline first in each model, says once what every row shares, and fits 120 columns, naming what it left out", () => {
    const lines = formatTable(rows, [], { baseline: "none" }).split("\n");
    expect(lines.slice(2, 7).map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(["none sim:obedient", "l1 sim:obedient", "tower-with-a-long-name sim:obedient", "none sim:typical", "l1 sim:typical"]);
    for (const line of lines.slice(0, 7)) expect(line.length).toBeLessThanOrEqual(TABLE_WIDTH);
    expect(lines[7]).toBe("(in every row: benign n 410, attack n 530, errors 0, layer errors 0.00, µs/step 12.5)");
    expect(lines[8]).toMatch(/^\(to fit 120 columns, left out: AIR\(hard neg\.\), rewrites, friction(, UA)?.* \(--wide shows all\)\)$/);
    // BR and AIR keep their intervals.
    expect(lines[3]).toMatch(/^l1 .* 0\.87 \[0\.84–0\.90\]/);
  });

  it("--wide prints every column that varies; one row is printed whole", () => {
    const wide = formatTable(rows, [], { baseline: "none", wide: true }).split("\n");
    expect(wide[0]).toMatch(/BU +ASR +BR +AIR +AIR\(hard neg\.\) +rewrites +harmful AIR +UA +friction$/);
    expect(wide.at(-1)).toBe("(in every row: benign n 410, attack n 530, errors 0, layer errors 0.00, µs/step 12.5)");
    const one = formatTable([rows[0]!], [], { wide: true });
    expect(one.split("\n")[0]).toContain("benign n");
    expect(one).not.toContain("in every row");
  });
});
