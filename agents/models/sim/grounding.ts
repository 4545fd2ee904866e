/**
 * What a call needs the model to have read. A model can only write what it knows: every argument value of a call
 * — the user's plan step or an attacker's — must be readable in its context (the request included), unless the
 * model writes it in its own words; then the facts it is written from must be readable instead.
 */
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

/** One argument and the texts that must be readable for the model to write it. */
export interface Need {
  readonly arg: string;
  readonly reads: readonly string[];
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

/** What must be read to make a call, argument by argument (worked out once per call). */
export function needs(call: PlannedCall): readonly Need[] {
  let out = needsOf.get(call);
  if (!out) {
    out = Object.entries(call.args).map(([arg, value]) => ({ arg, reads: call.from?.[arg] ?? leaves(value) }));
    needsOf.set(call, out);
  }
  return out;
}

/** The arguments of a call the model cannot write from what it has read; empty when it can make the call. */
export function ungrounded(call: PlannedCall, reading: Perception): string[] {
  return needs(call)
    .filter((need) => !need.reads.every((text) => reading.reads(text)))
    .map((need) => need.arg);
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
