import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadCorpus } from "../../benchmarks/corpus.ts";
import { selfCorpus, trainingTexts } from "../../benchmarks/vaccines/training.ts";
import { VACCINATORS } from "./index.ts";

const corpus = loadCorpus();
const seen = trainingTexts(corpus, "seen");
const self = selfCorpus();

describe.each([...VACCINATORS.keys()])("vaccinator %s", (id) => {
  const vaccinator = VACCINATORS.get(id)!;
  const train = (seed = 1) => vaccinator.train(seen, self, { seed, split: "seen" });

  it("is deterministic: the same data and seed give the same artifact, byte for byte", () => {
    expect(JSON.stringify(train())).toBe(JSON.stringify(train()));
    expect(train().trained_on).toMatchObject({ split: "seen", examples: seen.length, seed: 1 });
  });

  it("recognises most of what it was trained on, and no text of its self corpus", () => {
    const detect = vaccinator.detector(train().model);
    const recognised = seen.filter((t) => detect(t) !== null).length;
    expect(recognised / seen.length).toBeGreaterThan(0.8);
    expect(self.filter((t) => detect(t) !== null)).toEqual([]);
  });

  it("names what it recognised", () => {
    const detect = vaccinator.detector(train().model);
    const hit = seen.map(detect).find((d) => d !== null)!;
    expect(hit.evidence.length).toBeGreaterThan(0);
    expect(hit.reason.length).toBeGreaterThan(0);
  });
});

describe("the shipped exact-signatures artifact", () => {
  it("is what training on today's corpus gives (it cannot go stale)", () => {
    const shipped = JSON.parse(readFileSync(new URL("./artifacts/exact-signatures-seen.json", import.meta.url), "utf8"));
    expect(shipped).toEqual(VACCINATORS.get("exact-signatures")!.train(seen, self, { seed: 1, split: "seen" }));
  });
});
