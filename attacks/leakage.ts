/**
 * Leakage between the splits: how much of a held-out case's injected text a detector trained on the `seen` split
 * could have learned. Words are runs of letters and digits after NFKC and lower-casing, with invisible format
 * characters (zero-width spaces between the letters of a word) taken out first and text hidden in Unicode tag
 * characters written out: a word broken by invisible characters is still one word. A held-out case leaks when
 * a run of {@link LEAK_RUN} consecutive words of its injected texts (injection, `also`, carried) occurs in a seen
 * case's injected texts and is not the world's own content (text the attack quotes from the suite's fixture).
 */
import { revealTags } from "../defenses/util/reading.ts";
import type { AttackCase } from "./schema.ts";

/** Consecutive shared words that make a leak. */
export const LEAK_RUN = 8;
/** The share of a held-out split that may leak: above it, the split is not held out. */
export const MAX_LEAK_SHARE = 0.05;

export function leakWords(text: string): string[] {
  return (
    revealTags(text)
      .normalize("NFKC")
      .replace(/\p{Cf}+/gu, "")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

/** Every text a case plants or carries: what a detector can learn from. */
export function injectedTexts(c: AttackCase): string[] {
  return [c.injection.text, ...c.injection.also.map((a) => a.text), ...c.carried.map((p) => p.text)];
}

export interface CaseLeakage {
  readonly id: string;
  readonly split: string;
  /** Longest run of words shared with some seen case's injected text. */
  readonly longest: number;
  /** A run of LEAK_RUN words, not the world's own, is shared with a seen case. */
  readonly leaks: boolean;
  /** The first such run, for the report. */
  readonly example: string | null;
}

export interface SplitLeakage {
  readonly split: string;
  readonly cases: number;
  readonly leaking: number;
  readonly share: number;
  readonly longest_median: number;
  readonly longest_max: number;
}

const KEY = 4;
const gram = (words: readonly string[], at: number, n: number) => words.slice(at, at + n).join(" ");

/** The seen side, indexed once: every 4-word run of every seen injected text, with where it stands. */
export class SeenIndex {
  private readonly texts: string[][] = [];
  private readonly runs = new Map<string, [number, number][]>();
  private readonly world: ReadonlySet<string>;

  constructor(seen: readonly AttackCase[], worldTexts: readonly string[]) {
    for (const c of seen) {
      for (const text of injectedTexts(c)) {
        const words = leakWords(text);
        const t = this.texts.push(words) - 1;
        for (let i = 0; i + KEY <= words.length; i++) {
          const key = gram(words, i, KEY);
          const at = this.runs.get(key);
          if (at) at.push([t, i]);
          else this.runs.set(key, [[t, i]]);
        }
      }
    }
    const world = new Set<string>();
    for (const text of worldTexts) {
      const words = leakWords(text);
      for (let i = 0; i + LEAK_RUN <= words.length; i++) world.add(gram(words, i, LEAK_RUN));
    }
    this.world = world;
  }

  /** How much of a case's injected text is shared with the seen side. */
  measure(c: AttackCase): CaseLeakage {
    return { id: c.id, split: c.split, ...this.measureTexts(injectedTexts(c)) };
  }

  /** How much of some texts — a case's, or a text nobody here wrote — is shared with the seen side. */
  measureTexts(texts: readonly string[]): { longest: number; leaks: boolean; example: string | null } {
    let longest = 0;
    let example: string | null = null;
    for (const text of texts) {
      const words = leakWords(text);
      for (let i = 0; i + KEY <= words.length; i++) {
        for (const [t, j] of this.runs.get(gram(words, i, KEY)) ?? []) {
          const seen = this.texts[t]!;
          let n = KEY;
          while (i + n < words.length && j + n < seen.length && words[i + n] === seen[j + n]) n++;
          longest = Math.max(longest, n);
          if (example === null && n >= LEAK_RUN) {
            for (let k = i; k + LEAK_RUN <= i + n; k++) {
              const run = gram(words, k, LEAK_RUN);
              if (!this.world.has(run)) {
                example = run;
                break;
              }
            }
          }
        }
      }
    }
    return { longest, leaks: example !== null, example };
  }
}

/** Leakage of every held-out case of a corpus, and per split. */
export function measureLeakage(cases: readonly AttackCase[], worldTexts: readonly string[]): { cases: CaseLeakage[]; splits: SplitLeakage[] } {
  const index = new SeenIndex(
    cases.filter((c) => c.split === "seen"),
    worldTexts,
  );
  const measured = cases.filter((c) => c.split !== "seen").map((c) => index.measure(c));
  const splits = [...new Set(measured.map((m) => m.split))].sort().map((split) => {
    const inSplit = measured.filter((m) => m.split === split);
    const longest = inSplit.map((m) => m.longest).sort((a, b) => a - b);
    const leaking = inSplit.filter((m) => m.leaks).length;
    return {
      split,
      cases: inSplit.length,
      leaking,
      share: inSplit.length === 0 ? 0 : leaking / inSplit.length,
      longest_median: longest.length === 0 ? 0 : longest[Math.floor((longest.length - 1) / 2)]!,
      longest_max: longest.at(-1) ?? 0,
    };
  });
  return { cases: measured, splits };
}
