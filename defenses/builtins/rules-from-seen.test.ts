import { describe, expect, it } from "vitest";
import { injectedTexts } from "../../attacks/leakage.ts";
import { loadCorpus } from "../../benchmarks/corpus.ts";
import { loadDefenseConfiguration } from "../config.ts";
import { DEFAULT_SIGNATURES, signatureSensor } from "./signature-sensor.ts";
import { AUTHOR_CLAIM } from "./signed-identities.ts";
import { ADDRESS_OPENINGS, CLAIM_WORDS, ORDER_WORDS, ROLE_WORDS } from "./typed-protocol.ts";

/**
 * Built-in detection rules come from the training data: every signature, role, order and claim word of the
 * shipped layers matches text the attacks of the `seen` split inject, and none matches a held-out case (near, far)
 * without matching a seen one — a rule written from test cases would score on them and say nothing about attacks
 * nobody here wrote. To change a rule, find it in the seen split (`npm run anis -- list attacks --split seen`).
 */
const cases = loadCorpus();
const textsOf = (split: (s: string) => boolean) => cases.filter((c) => split(c.split)).flatMap((c) => injectedTexts(c).map((t) => t.normalize("NFKC")));
const seen = textsOf((s) => s === "seen");
const heldOut = textsOf((s) => s !== "seen");

/** The top-level alternatives of a pattern: each must stand on its own. */
function alternatives(pattern: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") i++;
    else if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "|" && depth === 0) {
      out.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  return [...out, pattern.slice(start)];
}

const RULES: readonly { readonly rule: string; readonly pattern: RegExp }[] = [
  ...DEFAULT_SIGNATURES.flatMap((s) => alternatives(s).map((a) => ({ rule: `signature-sensor: ${a}`, pattern: new RegExp(a, "i") }))),
  ...ROLE_WORDS.map((w) => ({ rule: `typed-protocol role: ${w}`, pattern: new RegExp(`\\b${w}s?\\b`, "i") })),
  ...ORDER_WORDS.map((w) => ({ rule: `typed-protocol order: ${w}`, pattern: new RegExp(`\\b${w}\\b`, "i") })),
  ...CLAIM_WORDS.map((w) => ({ rule: `typed-protocol claim: ${w}`, pattern: new RegExp(`\\b${w}\\b`, "i") })),
  ...ADDRESS_OPENINGS.map((w) => ({ rule: `typed-protocol opening: ${w}`, pattern: new RegExp(`^\\s*${w}\\b`, "im") })),
  { rule: "signed-identities claim", pattern: new RegExp(AUTHOR_CLAIM, "i") },
];

describe("built-in rules", () => {
  it("read the held-out splits only where they read the seen one", () => {
    expect(seen.length).toBeGreaterThan(100);
    expect(heldOut.length).toBeGreaterThan(100);
    const fitted = RULES.filter(({ pattern }) => heldOut.some((t) => pattern.test(t)) && !seen.some((t) => pattern.test(t))).map((r) => r.rule);
    expect(fitted).toEqual([]);
  });

  it("each match some seen case: none is written from nothing the training data shows", () => {
    expect(RULES.filter(({ pattern }) => !seen.some((t) => pattern.test(t))).map((r) => r.rule)).toEqual([]);
  });

  it("see the difference: a rule written from a held-out template fails the check", () => {
    const fromFarTemplate = /on behalf of the supervisor/i;
    expect(heldOut.some((t) => fromFarTemplate.test(t)) && !seen.some((t) => fromFarTemplate.test(t))).toBe(true);
  });

  it("that are written from a split say so, and reports score them on the others", () => {
    expect(loadDefenseConfiguration("signature-sensor").trainedOn).toEqual(["seen"]);
    expect(loadDefenseConfiguration("l2").trainedOn).toEqual(["seen"]);
    expect(loadDefenseConfiguration("l3").trainedOn).toEqual(["seen"]);
    expect(loadDefenseConfiguration("l1").trainedOn).toEqual([]);
    expect(signatureSensor({ signatures: ["my own phrase"] }).trainedOn).toBeUndefined();
    expect(signatureSensor({ signatures: ["my own phrase"], trained_on: ["near"] }).trainedOn).toEqual(["near"]);
  });
});
