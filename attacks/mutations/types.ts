/**
 * A mutation operator rewrites an attack's text. It also says what becomes of the payload's core — the part a
 * reader must understand for the attack to work — so the simulated model knows what to look for:
 * - `frame`: wraps or extends the text (framing, hidden markup); the core is unchanged;
 * - `translate`: rewrites words (other languages); the core is rewritten the same way;
 * - `encode`: re-encodes the whole text (base64, rot13, homoglyphs…); the core is unchanged, and a reader sees it
 *   only if it can undo the encoding;
 * - `split`: cuts the payload in two, for two sources; the core is cut at the same place.
 */
export type MutationStage = "frame" | "translate" | "split" | "encode";

/** Which half of an operator's phrasings a case uses: `seen` cases one half, held-out cases the other. */
export type PhrasingSet = "seen" | "held_out";

/**
 * The sentences an operator adds, each a template around `{text}`, in two disjoint halves: a detector trained on
 * `seen` cases never meets the sentences held-out cases carry.
 */
export interface Phrasings {
  readonly seen: readonly string[];
  readonly held_out: readonly string[];
}

export interface Mutation {
  readonly id: string;
  readonly stage: MutationStage;
  readonly description: string;
  /** Applies the operator; an operator with `phrasings` wraps the text in the given one. */
  apply(text: string, phrasing?: string): string;
  readonly phrasings?: Phrasings;
  /** The core after this operator; identity unless the operator rewrites words. */
  mapCore?(core: string): string;
}

/** Fills a phrasing template with the text. */
export const phrase = (template: string, text: string) => template.replace("{text}", () => text);

/** An attack text in the making: one fragment per source, the core as fragments. */
export interface Payload {
  readonly texts: readonly string[];
  readonly core: readonly string[];
}
