import { CONFUSABLES, ZERO_WIDTH } from "./alphabets.ts";

const CONFUSABLE_CHARS = new RegExp(`[${[...CONFUSABLES.keys()].join("")}]`, "g");

/**
 * Letters and digits only, lower case, compatibility-normalised, look-alikes folded to Latin. Modifier letters and
 * marks (a data-marking circumflex, a combining accent put between words or on a letter) carry no information and
 * go too: letters are decomposed, not composed, so that a mark never merges with the letter before it.
 */
export function normalise(text: string): string {
  return text
    .normalize("NFKD")
    .replace(ZERO_WIDTH, "")
    .replace(CONFUSABLE_CHARS, (c) => CONFUSABLES.get(c) ?? c)
    .toLowerCase()
    // Lower case depends on position for one letter: a capital sigma ends a word as ς and is σ elsewhere.
    .replaceAll("ς", "σ")
    .replace(/[^\p{Ll}\p{Lu}\p{Lt}\p{Lo}\p{N}]+/gu, "");
}
