/**
 * What a call needs the model to have read. A model can only write what it knows: every argument value of a call
 * — the user's plan step or an attacker's — must be readable in its context (the request included), unless the
 * model writes it in its own words; then the facts it is written from must be readable instead.
 */
import { factsOf, PROSE_ARGS } from "../../../defenses/util/args.ts";
import type { Perception } from "./perception.ts";

/** A tool call with literal arguments. */
export interface PlannedCall {
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
  /**
   * Arguments the model writes in its own words (a subject line, a summary, a sum, a date it works out), each with
   * the facts it is written from: each fact must be readable. An empty list: nothing to read (a subject line).
   */
  readonly from?: Readonly<Record<string, readonly string[]>>;
}

/**
 * One value the model must write: readable as it stands, or — for prose it may word itself — through its facts.
 * An argument declared with `from` is written from its facts alone.
 */
interface Need {
  readonly arg: string;
  /** Texts that must all be readable. */
  readonly reads: readonly string[];
  /** Prose the model could word itself: enough that these are readable (its figures, addresses, paths, ids). */
  readonly orFacts: readonly string[] | null;
}

/** The values inside an argument: strings and numbers, at any depth. Booleans are choices, not facts. */
function leaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") {
    if (value.trim().length > 0) out.push(value);
  } else if (typeof value === "number") {
    out.push(String(value));
  } else if (Array.isArray(value)) {
    for (const v of value) leaves(v, out);
  } else if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) leaves(v, out);
  }
  return out;
}

const needsOf = new WeakMap<PlannedCall, readonly Need[]>();

/**
 * What must be read to make a call (worked out once per call). An argument declared with `from` needs its facts.
 * Otherwise each value must be readable as it stands, except prose — a prose argument, or three words or more —
 * which the model may word itself: then its facts must be readable.
 */
function needs(call: PlannedCall): readonly Need[] {
  let out = needsOf.get(call);
  if (!out) {
    out = Object.entries(call.args).flatMap(([arg, value]): Need[] => {
      const declared = call.from?.[arg];
      if (declared) return [{ arg, reads: declared, orFacts: null }];
      return leaves(value).map((leaf) => ({ arg, reads: [leaf], orFacts: PROSE_ARGS.has(arg) || leaf.trim().split(/\s+/).length >= 3 ? factsOf(leaf) : null }));
    });
    needsOf.set(call, out);
  }
  return out;
}

/** The arguments of a call the model cannot write from what it has read; empty when it can make the call. */
export function ungrounded(call: PlannedCall, reading: Perception): string[] {
  const missing = new Set<string>();
  for (const need of needs(call)) {
    if (missing.has(need.arg) || need.reads.every((text) => readsWhole(text, reading))) continue;
    if (need.orFacts === null || !need.orFacts.every((fact) => reading.reads(fact))) missing.add(need.arg);
  }
  return [...missing];
}

/**
 * A value read as it stands, or — a short name of two to four words, cut across two sources as a split payload
 * cuts it ("City …" here, "Utilities" there) — read word by word: a reader puts a name back together.
 */
function readsWhole(text: string, reading: Perception): boolean {
  if (reading.reads(text)) return true;
  const words = text.trim().split(/\s+/);
  return words.length >= 2 && words.length <= 4 && words.every((word) => reading.reads(word));
}

/** A value the model could not know, filled in the way a careless model does: never the right one. */
function guessed(value: unknown, arg: string): unknown {
  if (typeof value === "number") return 0;
  if (Array.isArray(value)) return value.map((v) => guessed(v, arg));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, guessed(v, k)]));
  return typeof value === "string" ? `[${arg} unknown]` : value;
}

/** The call's arguments with the ungrounded ones guessed. */
export function withGuesses(call: PlannedCall, missing: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(call.args).map(([arg, value]) => [arg, missing.includes(arg) ? guessed(value, arg) : value]));
}
