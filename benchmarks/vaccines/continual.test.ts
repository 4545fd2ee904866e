import { describe, expect, it } from "vitest";
import { runContinual } from "./continual.ts";

describe("continual immune learning", () => {
  const options = { vaccinator: "negative-selection", seed: 1, perFamily: 4, benignEvery: 3, autoimmunityLimit: 0.02, model: "sim:obedient" };

  it("runs the stream: every family appears, the thymus deletes self-reactive clones, vaccines are deployed and rejected", async () => {
    const result = await runContinual(options);
    const families = new Set(result.events.filter((e) => e.kind === "attack").map((e) => e.family));
    expect(Object.keys(result.time_to_immunity).sort()).toEqual([...families].sort());
    expect(result.incidents).toBeGreaterThan(0);
    expect(result.vaccines_deployed).toBeGreaterThan(0);
    // A vaccine deployed at one step is the one the later steps run with.
    const versions = result.events.map((e) => e.vaccine_version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(result.autoimmunity_drift.every((d) => d.rate >= 0 && d.rate <= 1)).toBe(true);
  });

  it("is deterministic for a seed", async () => {
    const [a, b] = [await runContinual(options), await runContinual(options)];
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});
