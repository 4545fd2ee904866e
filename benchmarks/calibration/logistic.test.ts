import { describe, expect, it } from "vitest";
import { uniform } from "../../defenses/util/uniform.ts";
import { fitLogistic } from "./logistic.ts";

describe("MAP logistic regression", () => {
  // Rows drawn here with known coefficients: intercept -1, feature a +2, feature b -1; feature c never varies.
  const truth = [-1, 2, -1, 0.7];
  const rows: number[][] = [];
  const outcomes: number[] = [];
  for (let i = 0; i < 6000; i++) {
    const x = [1, uniform(`a${i}`) < 0.5 ? 1 : 0, uniform(`b${i}`) < 0.4 ? 1 : 0, 0];
    const eta = x.reduce((s, v, j) => s + v * truth[j]!, 0);
    rows.push(x);
    outcomes.push(uniform(`y${i}`) < 1 / (1 + Math.exp(-eta)) ? 1 : 0);
  }
  const fit = fitLogistic(rows, outcomes, [{ mean: 0, sd: 10 }, { mean: 0, sd: 10 }, { mean: 0, sd: 10 }, { mean: 0.7, sd: 1 }]);

  it("recovers the coefficients that made the data, each within its interval", () => {
    for (const j of [0, 1, 2]) {
      expect(Math.abs(fit.beta[j]! - truth[j]!)).toBeLessThan(1.96 * fit.se[j]!);
      expect(fit.se[j]!).toBeLessThan(0.1);
    }
  });

  it("keeps a feature the data never varies at its prior, with the prior's spread", () => {
    expect(fit.beta[3]).toBeCloseTo(0.7, 6);
    expect(fit.se[3]).toBeCloseTo(1, 3);
  });
});
