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

  it("learns from actions too: an action vaccinator's incidents are the calls benign work never makes, vetted on the thymus tasks' actions", async () => {
    const result = await runContinual({ ...options, vaccinator: "behaviour" });
    expect(result.vaccinator).toBe("behaviour");
    expect(result.incidents).toBeGreaterThan(0);
    expect(result.vaccines_deployed).toBeGreaterThan(0);
    // The vaccine's own alarms are a part of all alarms on benign work.
    for (const d of result.autoimmunity_drift) expect(d.rate).toBeLessThanOrEqual(d.with_late_layer);
    expect(result.events.some((e) => e.kind === "attack" && e.blocked)).toBe(true);
  });

  it("learns two signals together: Meta tests each candidate on the thymus tasks' episodes, and the stream reports immunity with its interval", async () => {
    const result = await runContinual({ ...options, vaccinator: "co-stimulation" });
    expect(result.vaccines_deployed).toBeGreaterThan(0);
    expect(result.events.some((e) => e.kind === "attack" && e.blocked)).toBe(true);
    for (const [family, t] of Object.entries(result.time_to_immunity)) {
      const after = result.blocked_after_immunity[family];
      if (t === null) expect(after).toBeUndefined();
      else {
        expect(after!.exposures).toBe(result.events.filter((e) => e.kind === "attack" && e.family === family).length - t);
        expect(after!.blocked / after!.exposures).toBeGreaterThanOrEqual(0.9);
        expect(after!.lo).toBeLessThanOrEqual(after!.blocked / after!.exposures);
      }
    }
    const benign = result.events.filter((e) => e.kind === "benign");
    expect(result.autoimmunity.episodes).toBe(benign.length);
    expect(result.autoimmunity.alarms).toBe(benign.filter((e) => e.vaccine_intervened).length);
  });
});
