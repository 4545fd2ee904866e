import MiniSearch from "minisearch";
import type { MemoryRecord } from "./environment.ts";

const STOPWORDS = new Set(
  "a an and are as at be by for from has have i in is it its me my of on or our please the this to was we what when with you your".split(" "),
);

const processTerm = (term: string) => {
  const t = term.toLowerCase();
  return t.length > 2 && !STOPWORDS.has(t) ? t : null;
};

/**
 * Retrieves the active memory entries of a zone most relevant to the query, best first, by BM25 (MiniSearch's
 * BM25+ over the entries' words). Quarantined entries are never indexed: that is what quarantine means. Ties keep
 * the order the entries were written in.
 */
export function retrieveMemory(store: readonly MemoryRecord[], zone: string, query: string, limit: number): MemoryRecord[] {
  const active = store.filter((r) => r.zone === zone && r.status === "active");
  if (active.length === 0) return [];
  const index = new MiniSearch<{ id: number; text: string }>({ fields: ["text"], processTerm });
  index.addAll(active.map((r, id) => ({ id, text: r.text })));
  return index
    .search(query, { combineWith: "OR" })
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, limit)
    .map((hit) => active[hit.id as number]!);
}
