import { describe, expect, it } from "vitest";
import { checkCase } from "../corpus.ts";
import { loadDefenseConfiguration } from "../../defenses/config.ts";
import { runCase } from "../testing/episodes.ts";
import { evolve } from "./evolve.ts";

describe("the adaptive attacker", () => {
  const vaccine = loadDefenseConfiguration("vaccine-exact");

  it("finds a bypass of the exact-signature vaccine within its budget, and the escaping variant is a valid case that gets through", async () => {
    const result = await evolve({ defense: vaccine, model: "sim:obedient", budget: 30, seed: 1, families: ["retrieval-poisoning", "context-ignoring"] });
    expect(result.families.map((f) => f.family)).toEqual(["context-ignoring", "retrieval-poisoning"]);
    for (const f of result.families) {
      expect(f.queries_to_bypass).not.toBeNull();
      expect(f.queries_to_bypass!).toBeLessThanOrEqual(30);
      const [escaped] = f.escaping;
      expect(checkCase(escaped!)).toEqual([]);
      expect((await runCase(escaped!, vaccine.layers)).attackSucceeded).toBe(true);
    }
    expect(result.immune_escape_rate).toBe(1);
  });

  it("is deterministic: the same seed spends the same queries", async () => {
    const run = () => evolve({ defense: vaccine, model: "sim:obedient", budget: 30, seed: 7, families: ["retrieval-poisoning"] });
    const [a, b] = [await run(), await run()];
    expect(a.families.map((f) => [f.queries, f.queries_to_bypass])).toEqual(b.families.map((f) => [f.queries, f.queries_to_bypass]));
  });

  it("spends the whole budget on a defense it cannot get through, and says so", async () => {
    const result = await evolve({ defense: loadDefenseConfiguration("l4"), model: "sim:obedient", budget: 12, seed: 1, families: ["important-instructions"] });
    expect(result.families[0]).toMatchObject({ queries: 12, queries_to_bypass: null });
    expect(result.immune_escape_rate).toBe(0);
  });
});
