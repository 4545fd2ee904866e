import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadFamilies, parseFamily } from "./families.ts";
import { generateCases, loadGeneratorConfig } from "./generator.ts";
import { injectedTexts } from "./leakage.ts";
import { MUTATIONS } from "./mutations/index.ts";
import { loadTargets } from "./targets.ts";

const digest = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

describe("corpus generator", () => {
  const config = loadGeneratorConfig();
  const cases = generateCases(config);

  it("is deterministic: the same seed and version give the same cases, ids and texts", () => {
    expect(digest(generateCases(config))).toBe(digest(cases));
  });

  it("a different seed picks different cases", () => {
    const other = generateCases({ ...config, seed: config.seed + 1 });
    expect(other).toHaveLength(cases.length);
    expect(digest(other)).not.toBe(digest(cases));
  });

  it("produces at least 600 cases over 12 families, three splits and five surfaces, with unique ids", () => {
    expect(cases.length).toBeGreaterThanOrEqual(600);
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    expect(new Set(cases.map((c) => c.family)).size).toBeGreaterThanOrEqual(12);
    expect(new Set(cases.map((c) => c.split))).toEqual(new Set(["seen", "near", "far"]));
    expect(new Set(cases.map((c) => c.surface))).toEqual(new Set(["tool_output", "tool_description", "memory", "rag_document", "peer_message"]));
  });

  it("follows the split rule: far families only in far; near exactly when a held-out operator or template is used", () => {
    for (const c of cases) {
      const heldOut = c.mutation_chain.some((op) => config.held_out_operators.includes(op)) || config.held_out_templates.includes(c.template ?? 0);
      const expected = config.far_families.includes(c.family) ? "far" : heldOut ? "near" : "seen";
      expect(c.split, c.id).toBe(expected);
    }
    const seenOperators = new Set(cases.filter((c) => c.split === "seen").flatMap((c) => c.mutation_chain));
    for (const op of config.held_out_operators) expect(seenOperators.has(op)).toBe(false);
  });

  it("covers every goal kind, and far asks for one no seen case asks for", () => {
    expect(new Set(cases.map((c) => c.goal.kind))).toEqual(
      new Set(["exfiltration", "unauthorized_transaction", "destruction", "persistence", "privilege_escalation", "replication", "impersonation"]),
    );
    const seenKinds = new Set(cases.filter((c) => c.split === "seen").map((c) => c.goal.kind));
    expect(cases.filter((c) => c.split === "far" && !seenKinds.has(c.goal.kind)).length).toBeGreaterThan(0);
  });

  it("draws seen cases from seen goals, near cases from held-out goals, far cases from held-out and far goals", () => {
    const splitOfGoal = new Map(loadTargets().flatMap((t) => t.goals.map((g) => [`${t.suite}/${g.id}`, g.split] as const)));
    const fits = { seen: ["seen"], near: ["held_out"], far: ["held_out", "far"] } as const;
    // A generated case's id is family--goal--carrier--template--chain.
    const goalSplits = cases.map((c) => [c, splitOfGoal.get(`${c.suite}/${c.id.split("--")[1]}`)] as const);
    for (const [c, split] of goalSplits) expect(fits[c.split], c.id).toContain(split);
    expect(goalSplits.filter(([, split]) => split === "far").length).toBeGreaterThan(0);
  });

  it("words seen and held-out cases with disjoint halves of every operator's sentences", () => {
    // The fixed words of a phrasing (around {text}) that a detector could learn.
    const fragments = (set: "seen" | "held_out") =>
      [...MUTATIONS.values()].flatMap((op) => (op.phrasings?.[set] ?? []).flatMap((p) => p.split("{text}").map((f) => f.trim()).filter((f) => f.length >= 12)));
    const textsOf = (held: boolean) => cases.filter((c) => (c.split !== "seen") === held).flatMap(injectedTexts);
    const seenTexts = textsOf(false);
    const heldOutTexts = textsOf(true);
    expect(fragments("held_out").filter((f) => seenTexts.some((t) => t.includes(f)))).toEqual([]);
    expect(fragments("seen").filter((f) => heldOutTexts.some((t) => t.includes(f)))).toEqual([]);
    expect(fragments("held_out").filter((f) => heldOutTexts.some((t) => t.includes(f))).length).toBeGreaterThan(5);
  });

  it("every family file is valid and has at least 5 paraphrase templates", () => {
    const families = loadFamilies();
    expect(families.length).toBeGreaterThanOrEqual(12);
    for (const f of families) expect(f.templates.length).toBeGreaterThanOrEqual(5);
  });

  it("rejects a family without the instruction placeholder or with too few templates, naming each problem", () => {
    const bad = { id: "x", version: "1", surface: "tool_output", mechanism: "m", goal_kinds: ["exfiltration"], templates: ["no placeholder", "{instruction}"] };
    expect(() => parseFamily(JSON.stringify(bad), "families/x.json")).toThrow(/at least 5 paraphrase templates[\s\S]*templates.0/);
  });
});
