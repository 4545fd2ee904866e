import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveModel } from "../registry.ts";
import { COMPLIANCE_FEATURES, loadProfile, NO_FEATURES, SIM_PROFILES } from "./profiles.ts";

const dir = mkdtempSync(join(tmpdir(), "anis-profiles-"));
const write = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
};
const deps = { tasks: [], endpoint: {} };

describe("profiles are data", () => {
  it("every shipped profile says where each parameter came from, and a fitted one gives its interval", () => {
    expect([...SIM_PROFILES.keys()]).toEqual(expect.arrayContaining(["obedient", "typical", "cautious", "careless", "gpt-4o-2024-05-13"]));
    for (const profile of SIM_PROFILES.values()) {
      const { compliance } = profile.file;
      if (compliance.kind === "always") continue;
      for (const p of [compliance.intercept, ...COMPLIANCE_FEATURES.map((f) => compliance.effects[f])]) {
        expect(p.source.length).toBeGreaterThan(10);
        if (p.fitted) expect(p.interval![0]).toBeLessThanOrEqual(p.estimate);
      }
    }
    expect(SIM_PROFILES.get("typical")!.file.provenance.kind).toBe("derived");
    expect(SIM_PROFILES.get("obedient")!.compliance(NO_FEATURES, "other")).toBe(1);
  });

  it("compliance is logistic in what the model perceives", () => {
    const gpt4o = SIM_PROFILES.get("gpt-4o-2024-05-13")!;
    const { compliance } = gpt4o.file;
    if (compliance.kind !== "logistic") throw new Error("fitted profiles are logistic");
    const base = gpt4o.compliance(NO_FEATURES, "other");
    expect(base).toBeCloseTo(1 / (1 + Math.exp(-compliance.intercept.estimate)), 12);
    const repeated = gpt4o.compliance({ ...NO_FEATURES, request_repeated: true }, "other");
    expect(Math.log(repeated / (1 - repeated)) - Math.log(base / (1 - base))).toBeCloseTo(compliance.effects.request_repeated.estimate, 9);
  });

  it("sim:profile=FILE runs a profile from a file and records its content in the manifest", () => {
    const path = write("mine.json", { ...SIM_PROFILES.get("typical")!.file, name: "mine" });
    const handle = resolveModel(`sim:profile=${path}`, deps);
    expect(handle.params).toMatchObject({ profile: "mine", profile_file: path });
    expect(handle.params.profile_sha256).not.toBe(resolveModel("sim:typical", deps).params.profile_sha256);
  });

  it("a bad profile file is one message naming the file and what is wrong", () => {
    expect(() => loadProfile(join(dir, "missing.json"))).toThrow(/missing\.json: cannot read the profile file \(ENOENT\)/);
    expect(() => loadProfile(write("broken.json", "{ not json"))).toThrow(/broken\.json: not JSON/);
    const typical = SIM_PROFILES.get("typical")!.file;
    const bad = { ...typical, compliance: { ...typical.compliance, intercept: { estimate: "high" } } };
    expect(() => loadProfile(write("bad.json", bad))).toThrow(/bad\.json: compliance\.intercept\.estimate: /);
    expect(() => resolveModel(`sim:profile=${join(dir, "missing.json")}`, deps)).toThrow(/missing\.json/);
  });
});
