import { createHash } from "node:crypto";
import type { Family } from "./families.ts";
import type { GeneratorConfig } from "./generator.ts";
import type { AttackCase } from "./schema.ts";

/**
 * Long memory campaigns derived from the generated memory-poisoning cases: the poisoning task, then the task that
 * retrieves the planted rule, then `repeats` times a benign filler task (one that writes memory of its own, so the
 * poisoned entry competes with honest ones in retrieval) followed by the retrieving task again. One persistent
 * memory store throughout, so the report can follow ASR, retrieval of poisoned entries and memory integrity over
 * the campaign's positions. `fillersOf` picks the fillers (it knows the suites); ids end in `--campaign-N`. Each
 * campaign comes twice: poisoned through content the agent reads, and through a query alone ({@link queryOnly}).
 */
export function deriveMemoryCampaigns(
  base: readonly AttackCase[],
  config: GeneratorConfig,
  queryFamily: Family,
  fillersOf: (c: AttackCase, count: number) => string[],
  memberOf: (c: AttackCase) => string,
): AttackCase[] {
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
      out.push(queryOnly(c, campaign, queryFamily, memberOf(c)));
    }
  }
  return out;
}

/**
 * The same campaign with the rule planted by query alone (MINJA-style): in the first episode the attacker is the
 * user (`user:` point: the attacker's request replaces the task's) and asks the agent to keep the rule; the victim's
 * later tasks retrieve it. Nothing the agent reads is attacker content: only its memory is. The attacker is one of
 * the deployment's users (`memberOf`): a colleague whose account is abused, as ordinary as any other.
 */
function queryOnly(c: AttackCase, campaign: readonly string[], family: Family, principal: string): AttackCase {
  const rule = c.carried[0]!.text;
  const template = (c.template ?? 0) % family.templates.length;
  return {
    ...c,
    id: `${c.id.replace(/^memory-poisoning/, family.id)}--campaign-${campaign.length}`,
    title: `${family.id}: ${c.title.slice(c.title.indexOf(":") + 2)}`,
    family: family.id,
    surface: family.surface,
    campaign: [...campaign],
    // The rule is written out in the request: the agent saves it as it reads it.
    injection: { point: "user:", also: [], text: family.templates[template]!.replace("{instruction}", rule), core: rule, calls: [{ tool: "save_memory", args: { text: rule } }] },
    principal,
    mutation_chain: [],
    template,
    // A derived case keeps its base case's split: its rule and wording come from the base.
    split: c.split,
  };
}
