/** Text comparisons for predicates: case and spacing never matter; addresses and IBANs are compared whole. */
export const squash = (s: string) => s.toLowerCase().replace(/\s+/g, "");
/** `needle` undefined matches anything. */
export const has = (haystack: string, needle: string | undefined) => needle === undefined || squash(haystack).includes(squash(needle));
export const same = (a: string, b: string | undefined) => b === undefined || squash(a) === squash(b);
export const json = (value: unknown) => JSON.stringify(value);

const terms = (text: string) => new Set(text.toLowerCase().split(/[^a-z0-9]+/).filter((t) => t.length > 2));

/**
 * A small search engine for the suites' knowledge bases (wiki, policies, runbooks): pages ranked by how many query
 * terms they contain, ties in page order, at most `limit`. What a retrieval-poisoning attack has to win.
 */
export function searchPages<P extends { title: string; text: string }>(pages: readonly P[], query: string, limit = 2): P[] {
  const wanted = terms(query);
  return pages
    .map((page, order) => ({ page, order, score: [...terms(`${page.title} ${page.text}`)].filter((t) => wanted.has(t)).length }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .slice(0, limit)
    .map((r) => r.page);
}
