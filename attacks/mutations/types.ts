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

export interface Mutation {
  readonly id: string;
  readonly stage: MutationStage;
  readonly description: string;
  apply(text: string): string;
  /** The core after this operator; identity unless the operator rewrites words. */
  mapCore?(core: string): string;
}

/** An attack text in the making: one fragment per source, the core as fragments. */
export interface Payload {
  readonly texts: readonly string[];
  readonly core: readonly string[];
}
