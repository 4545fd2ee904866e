/** Text comparisons for predicates: case and spacing never matter; addresses and IBANs are compared whole. */
export const squash = (s: string) => s.toLowerCase().replace(/\s+/g, "");
/** `needle` undefined matches anything. */
export const has = (haystack: string, needle: string | undefined) => needle === undefined || squash(haystack).includes(squash(needle));
export const same = (a: string, b: string | undefined) => b === undefined || squash(a) === squash(b);
export const json = (value: unknown) => JSON.stringify(value);
