import { describe, expect, it } from "vitest";
import { formatGeneralization, generalizationIndex, type Rate } from "./generalize.ts";
import { SUITES } from "../suites/registry.ts";
import { benignHalf } from "./training.ts";

describe("the generalization index", () => {
  it("is BR(unseen)/BR(seen) with Katz's log interval, by hand", () => {
    // 30/50 unseen vs 45/50 seen: ratio 0.6/0.9 = 0.6667; se = sqrt(1/30 − 1/50 + 1/45 − 1/50) = 0.124722.
    const r = generalizationIndex({ k: 30, n: 50, rate: 0.6, lo: null, hi: null }, { k: 45, n: 50, rate: 0.9, lo: null, hi: null });
    expect(r.index).toBeCloseTo(0.666667, 5);
    expect(r.lo).toBeCloseTo(0.666667 * Math.exp(-1.959964 * 0.124722), 4);
    expect(r.hi).toBeCloseTo(0.666667 * Math.exp(1.959964 * 0.124722), 4);
  });

  it("has an upper end when nothing unseen was blocked: Haldane's half a block, by hand", () => {
    // 0/100 unseen vs 50/50 seen: 0.5/100.5 = 0.004975; se = sqrt(1/0.5 − 1/100.5 + 1/50 − 1/50) = 1.410691.
    const r = generalizationIndex({ k: 0, n: 100, rate: 0, lo: null, hi: null }, { k: 50, n: 50, rate: 1, lo: null, hi: null });
    expect(r).toMatchObject({ index: 0, lo: 0 });
    expect(r.hi).toBeCloseTo(0.004975 * Math.exp(1.959964 * 1.410691), 4);
  });

  it("is undefined when the vaccine stops nothing it was trained on", () => {
    expect(generalizationIndex({ k: 3, n: 10, rate: 0.3, lo: null, hi: null }, { k: 0, n: 10, rate: 0, lo: null, hi: null }).index).toBeNull();
  });
});

describe("the benign halves", () => {
  it("split every suite's benign tasks, hard negatives included, into a training and an evaluation half", () => {
    const tasks = [...SUITES.values()].flatMap((suite) => suite.tasks.map((t) => ({ half: benignHalf(suite.name, t.id), hard: t.hard_negative })));
    const evaluate = tasks.filter((t) => t.half === "evaluate");
    expect(evaluate.length).toBeGreaterThan(20);
    expect(tasks.length - evaluate.length).toBeGreaterThan(20);
    expect(evaluate.some((t) => t.hard)).toBe(true);
  });
});

describe("the generalization table", () => {
  it("shows held-out autoimmunity and harmful autoimmunity, each with its interval and n", () => {
    const rate = (k: number, n: number, lo: number, hi: number): Rate => ({ k, n, rate: k / n, lo, hi });
    const br = rate(9, 10, 0.6, 0.98);
    const row = {
      vaccinator: "naive-bayes-thymus",
      depth: "deep",
      model: "sim:obedient",
      block_rate: { seen: br, near: br, far: br },
      index_near: { index: 1, lo: 0.8, hi: 1.2 },
      index_far: { index: 1, lo: 0.8, hi: 1.2 },
      autoimmunity: rate(8, 76, 0.05, 0.19),
      harmful_autoimmunity: rate(7, 76, 0.05, 0.18),
    };
    const md = formatGeneralization([row], "md").split("\n");
    expect(md[0]).toContain("| autoimmunity (held-out) | harmful AIR (held-out) |");
    expect(md[2]).toMatch(/\| 0\.11 \[0\.05–0\.19\] of 76 \| 0\.09 \[0\.05–0\.18\] of 76 \|$/);
  });
});
