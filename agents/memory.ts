import type { MemoryRecord } from "./environment.ts";

const STOPWORDS = new Set(
  "a an and are as at be by for from has have i in is it its me my of on or our please the this to was we what when with you your".split(" "),
);

function terms(text: string): Set<string> {
  return new Set(text.toLowerCase().split(/[^a-z0-9]+/).filter((t) => t.length > 2 && !STOPWORDS.has(t)));
}

/**
 * Retrieves the active memory entries of a zone that share the most terms with the query, best first.
 * Quarantined entries are never returned: that is what quarantine means.
 */
export function retrieveMemory(store: readonly MemoryRecord[], zone: string, query: string, limit: number): MemoryRecord[] {
  const wanted = terms(query);
  const scored: { record: MemoryRecord; score: number; order: number }[] = [];
  store.forEach((record, order) => {
    if (record.zone !== zone || record.status !== "active") return;
    let score = 0;
    for (const t of terms(record.text)) if (wanted.has(t)) score++;
    if (score > 0) scored.push({ record, score, order });
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  return scored.slice(0, limit).map((s) => s.record);
}
