/**
 * Character tables: look-alike letters, leetspeak, ROT13, zero-width characters. Public knowledge that attackers' mutation
 * operators, the simulated model's reading and the normalising defenses all rely on; kept in one place.
 */

/** Latin letters and their Cyrillic or Greek look-alikes. */
export const HOMOGLYPHS: Readonly<Record<string, string>> = {
  a: "а", c: "с", e: "е", i: "і", j: "ј", o: "о", p: "р", s: "ѕ", x: "х", y: "у", d: "ԁ", l: "ӏ",
  A: "А", B: "В", C: "С", E: "Е", H: "Н", I: "І", K: "К", M: "М", O: "О", P: "Р", T: "Т", X: "Х",
};

/** Every look-alike back to its Latin letter (both scripts), for readers. */
export const CONFUSABLES: ReadonlyMap<string, string> = new Map([
  ...Object.entries(HOMOGLYPHS).map(([latin, glyph]) => [glyph, latin] as [string, string]),
  ["α", "a"], ["ο", "o"], ["ν", "v"], ["ρ", "p"], ["ι", "i"], ["κ", "k"], ["τ", "t"], ["υ", "u"],
  ["Α", "A"], ["Β", "B"], ["Ε", "E"], ["Ζ", "Z"], ["Η", "H"], ["Ι", "I"], ["Κ", "K"], ["Μ", "M"], ["Ν", "N"], ["Ο", "O"], ["Ρ", "P"], ["Τ", "T"], ["Υ", "Y"], ["Χ", "X"],
]);

/** Leetspeak: letters written as digits. Reading it back maps the digits to letters on both sides of a comparison. */
export const LEET: Readonly<Record<string, string>> = { a: "4", e: "3", i: "1", o: "0", s: "5", t: "7" };
export const UNLEET: ReadonlyMap<string, string> = new Map(Object.entries(LEET).map(([letter, digit]) => [digit, letter]));

export function rot13(text: string): string {
  return text.replace(/[a-z]/gi, (c) => {
    const base = c <= "Z" ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

export const ZERO_WIDTH_SPACE = "\u200B";
export const ZERO_WIDTH = /[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD]/g;
