import { CONFUSABLES, rot13, UNLEET, ZERO_WIDTH } from "./alphabets.ts";
import { revealTags } from "./reading.ts";
import { base64Runs, hexRuns, replaceRuns } from "./runs.ts";

const CONFUSABLE_CHARS = new RegExp(`[${[...CONFUSABLES.keys()].join("")}]`, "g");
const COMMON_WORDS = /\b(the|and|to|of|you|your|please|send|this|with|for|file|before|all)\b/gi;

/** Decoded bytes that read as text: no replacement characters, almost no control characters, mostly letters and spaces. */
function readable(s: string): boolean {
  if (s.length === 0 || s.includes("\uFFFD")) return false;
  const chars = [...s];
  const controls = chars.filter((c) => c < " " && c !== "\n" && c !== "\t" && c !== "\r").length;
  const wordy = chars.filter((c) => /[\p{L}\s]/u.test(c)).length;
  return controls / chars.length < 0.02 && wordy / chars.length > 0.6;
}

/** A run is base64 only if decoding and re-encoding gives it back (paths and identifiers do not). */
function base64Text(run: string): string | null {
  const bytes = Buffer.from(run, "base64");
  if (bytes.toString("base64").replace(/=+$/, "") !== run.replace(/=+$/, "")) return null;
  const text = bytes.toString("utf8");
  return text.length >= 8 && readable(text) ? text : null;
}
const englishness = (s: string) => (s.match(COMMON_WORDS) ?? []).length;

/**
 * Replaces leetspeak digits inside words (s3cr3t → secret, b4ckup → backup). Only words of four or more characters
 * with at least two such digits: names like Q3, v2 or p95, numbers, amounts and IBAN-like runs are left alone.
 */
function unleet(text: string): string {
  return text.replace(/\b[a-z]*\d[a-z\d]*\b/gi, (word) => {
    const leetDigits = [...word].filter((c) => UNLEET.has(c)).length;
    const letters = [...word].filter((c) => /[a-z]/i.test(c)).length;
    // A name followed by a number ("rot13", "base64", "sha256") is a name: leetspeak puts digits among the letters.
    if (word.length < 4 || leetDigits < 2 || letters < 2 || /^[A-Z]{2}\d{2}/.test(word) || /^[a-z]+\d+$/i.test(word)) return word;
    return word.replace(/\d/g, (d) => UNLEET.get(d) ?? d);
  });
}

/**
 * ROT13 wherever decoding reads as English, with no label needed: a clause whose decoding gains common words is
 * encoded, and so are its neighbours that decoding does not make worse (names and figures gain nothing) — a text
 * mixes a plain lead-in with an encoded run.
 */
function undoRot13(text: string): string {
  const parts = text.split(/((?<=[.!?:;])\s+|\n)/);
  const gain = parts.map((p, i) => (i % 2 === 1 ? -1 : englishness(rot13(p)) - englishness(p)));
  const decode = gain.map((g) => g >= 2);
  for (let i = 0; i < parts.length; i += 2) {
    if (!decode[i] || (i > 0 && decode[i - 2])) continue;
    for (let j = i - 2; j >= 0 && gain[j]! >= 0 && !decode[j]; j -= 2) decode[j] = true;
  }
  for (let i = 0; i < parts.length; i += 2) if (decode[i]) for (let j = i + 2; j < parts.length && gain[j]! >= 0 && !decode[j]; j += 2) decode[j] = true;
  return decode.some(Boolean) ? parts.map((p, i) => (decode[i] ? rot13(p) : p)).join("") : text;
}

export interface Decoded {
  readonly text: string;
  /** What was undone, in order; empty when the text was plain. */
  readonly undone: readonly string[];
}

/**
 * Undoes the obfuscations attackers use to slip past detectors — text hidden in Unicode tag characters, zero-width
 * characters, look-alike letters, base64 and hex runs, ROT13 (where decoding yields English),
 * leetspeak inside words — so that detectors placed after it read what a model would read.
 */
export function decodeObfuscations(input: string): Decoded {
  const undone: string[] = [];
  let text = input;
  const step = (name: string, next: string) => {
    if (next !== text) {
      undone.push(name);
      text = next;
    }
  };
  step("unicode-tags", revealTags(text));
  step("zero-width", text.replace(ZERO_WIDTH, ""));
  step("homoglyphs", text.replace(CONFUSABLE_CHARS, (c) => CONFUSABLES.get(c) ?? c));
  step(
    "base64",
    replaceRuns(text, base64Runs(text), base64Text),
  );
  step(
    "hex",
    replaceRuns(text, hexRuns(text, true), (run) => {
      const decoded = Buffer.from(run, "hex").toString("utf8");
      return readable(decoded) ? decoded : null;
    }),
  );
  step("rot13", undoRot13(text));

  step("leetspeak", unleet(text));
  return { text, undone };
}

/** Splits text into sentences and lines, keeping the separators, so a detector can remove one and keep the rest. */
export function sentences(text: string): string[] {
  return text.split(/(?<=[.!?])\s+|\n+/).filter((s) => s.trim().length > 0);
}

/** What a JSON object or array holds: its keys, its strings and its other values (numbers, booleans) as text. */
export interface JsonParts {
  readonly keys: string[];
  readonly strings: string[];
  readonly scalars: string[];
}

/** The parts of a text that is a JSON object or array, or null for any other text. */
export function jsonParts(text: string): JsonParts | null {
  const trimmed = text.trim();
  if (!/^[[{]/.test(trimmed)) return null;
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return null;
  }
  const parts: JsonParts = { keys: [], strings: [], scalars: [] };
  const walk = (value: unknown): void => {
    if (typeof value === "string") parts.strings.push(value);
    else if (typeof value === "number" || typeof value === "boolean") parts.scalars.push(String(value));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) {
        parts.keys.push(key);
        walk(v);
      }
    }
  };
  walk(data);
  return parts;
}

/**
 * The sentences a reader sees in a tool output or a report: those of each string inside JSON (an e-mail's body, a
 * ticket's title; keys and punctuation are not prose), whether the whole text or one of its lines is JSON, and
 * those of the rest.
 */
export function proseSentences(text: string): string[] {
  const whole = jsonParts(text);
  if (whole) return whole.strings.flatMap(sentences);
  return text.split("\n").flatMap((line) => (jsonParts(line)?.strings ?? [line]).flatMap(sentences));
}
