import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadCorpus } from "../../benchmarks/corpus.ts";
import { selfCorpus, trainingTexts } from "../../benchmarks/vaccines/training.ts";
import { normalise } from "../util/normalise.ts";
import { VACCINATORS } from "./index.ts";

describe("exact-signatures vaccinator", () => {
  const attacks = trainingTexts(loadCorpus(), "seen");
  const self = selfCorpus();
  const train = () => VACCINATORS.get("exact-signatures")!.train(attacks, self, { seed: 1, split: "seen" });

  it("is deterministic: the same data and seed give the same artifact", () => {
    expect(JSON.stringify(train())).toBe(JSON.stringify(train()));
  });

  it("the shipped artifact is what training on today's corpus gives (it cannot go stale)", () => {
    const shipped = JSON.parse(readFileSync(new URL("./artifacts/exact-signatures-seen.json", import.meta.url), "utf8"));
    expect(shipped).toEqual(train());
  });

  it("learns from the seen split and matches no text of the benign self corpus", () => {
    const artifact = train();
    expect(self.length).toBeGreaterThan(30);
    expect(artifact.signatures.length).toBeGreaterThan(100);
    const normalised = self.map(normalise);
    expect(artifact.signatures.filter((s) => normalised.some((t) => t.includes(s)))).toEqual([]);
  });
});
