import { createHash } from "node:crypto";
import type { GeneratorConfig } from "./generator.ts";
import type { AttackCase } from "./schema.ts";

/**
 * Long memory campaigns derived from the generated memory-poisoning cases: the poisoning task, then the task that
 * retrieves the planted rule, then `repeats` times a benign filler task (one that writes memory of its own, so the
 * poisoned entry competes with honest ones in retrieval) followed by the retrieving task again. One persistent
 * memory store throughout, so the report can follow ASR, retrieval of poisoned entries and memory integrity over
 * the campaign's positions. `fillersOf` picks the fillers (it knows the suites); ids end in `--campaign-N`.
 */
export function deriveMemoryCampaigns(base: readonly AttackCase[], config: GeneratorConfig, fillersOf: (c: AttackCase, count: number) => string[]): AttackCase[] {
  const { per_suite, repeats } = config.campaigns;
  const poisoning = base.filter((c) => c.family === "memory-poisoning" && c.campaign.length === 2 && c.injection.also.length === 0);
  const out: AttackCase[] = [];
  for (const suite of [...new Set(poisoning.map((c) => c.suite))].sort()) {
    const chosen = poisoning
      .filter((c) => c.suite === suite)
      .map((c) => ({ c, key: createHash("sha256").update(`${config.seed}|${config.version}|campaign|${c.id}`).digest("hex") }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, per_suite)
      .map(({ c }) => c);
    for (const c of chosen) {
      const [carrier, later] = c.campaign as [string, string];
      const fillers = fillersOf(c, repeats);
      const campaign = [carrier, later, ...fillers.flatMap((f) => [f, later])];
      out.push({ ...c, id: `${c.id}--campaign-${campaign.length}`, campaign });
    }
  }
  return out;
}
