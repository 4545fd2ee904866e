import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { type Family, loadFamilies } from "./families.ts";
import { applyChain, MUTATIONS, MutationError, type Wording } from "./mutations/index.ts";
import { type AttackCase, AttackCaseSchema, SPLITS, type Split } from "./schema.ts";
import { type Carrier, type Goal, loadTargets, type Targets } from "./targets.ts";

/**
 * The generator's fixed settings (`attacks/corpus.json`). The split rule:
 * - `far`: every case of a family in `far_families` (held out entirely);
 * - `near`: a case of another family whose text comes from a `held_out_templates` paraphrase (seen mechanism,
 *   unseen form), with any chain, the `held_out_operators` included;
 * - `seen`: a case of another family with a seen paraphrase and no held-out operator (for training defenses and
 *   vaccines); a seen paraphrase with a held-out operator belongs to no split and is not generated.
 * What a detector could learn is partitioned the same way: goals (wording, attacker identities, targets; see
 * targets.ts), lures, memory rules (one per paraphrase) and the operators' sentences (`seen` and `held_out` halves).
 * Each family contributes `cases_per_family[split]` cases per split it has, chosen by a seeded hash order, so the
 * same seed and version always give the same cases with the same ids.
 */
export const GeneratorConfigSchema = z.strictObject({
  version: z.string(),
  seed: z.number().int(),
  cases_per_family: z.strictObject({ seen: z.number().int().min(0), near: z.number().int().min(0), far: z.number().int().min(0) }),
  far_families: z.array(z.string()),
  held_out_operators: z.array(z.string()),
  held_out_templates: z.array(z.number().int().min(0)),
  chains: z.array(z.array(z.string())).min(1),
  /**
   * Multi-agent cases derived from the generated ones (`attacks/topologies.ts`): how many per suite and vector, and
   * for each topology the agent a compromised-agent case takes over and the edges spoofing and tampering use.
   */
  /** Long memory campaigns derived from memory-poisoning cases (`attacks/campaigns.ts`). */
  campaigns: z.strictObject({ per_suite: z.number().int().min(0), repeats: z.number().int().min(1) }),
  topologies: z.strictObject({
    per_suite: z.strictObject({
      relay: z.number().int().min(0),
      worm: z.number().int().min(0),
      compromised: z.number().int().min(0),
      spoof: z.number().int().min(0),
      mitm: z.number().int().min(0),
    }),
    systems: z.record(
      z.string(),
      z.strictObject({ compromised: z.string().min(1), spoof: z.string().regex(/^[\w{}-]+>[\w{}-]+$/), mitm: z.string().regex(/^[\w{}-]+>[\w{}-]+$/) }),
    ),
  }),
});
export type GeneratorConfig = z.infer<typeof GeneratorConfigSchema>;

export function loadGeneratorConfig(): GeneratorConfig {
  return GeneratorConfigSchema.parse(JSON.parse(readFileSync(new URL("./corpus.json", import.meta.url), "utf8")));
}

const fill = (template: string, vars: Record<string, string>) => template.replace(/\{(\w+)\}/g, (m, key: string) => vars[key] ?? m);
const hashOrder = (key: string) => createHash("sha256").update(key).digest("hex");

/** Does this carrier fit this family's mechanism? */
function fits(family: Family, carrier: Carrier): boolean {
  if (carrier.surface !== family.surface) return false;
  if (family.id === "delayed-trigger") return carrier.when !== undefined && carrier.trigger !== undefined;
  if (family.surface === "memory") return carrier.later !== undefined && carrier.when !== undefined && carrier.trigger !== undefined;
  if (family.id === "peer-spoofing") return carrier.point.startsWith("peer:");
  if (family.id === "peer-injection") return !carrier.point.startsWith("peer:");
  return true;
}

interface Combo {
  readonly id: string;
  readonly family: Family;
  readonly targets: Targets;
  readonly goal: Goal;
  readonly carrier: Carrier;
  readonly template: number;
  readonly chain: readonly string[];
  readonly split: Split;
}

/** The split rule (see {@link GeneratorConfigSchema}); hand-written cases follow it too. Null: no split. */
export function splitOf(config: GeneratorConfig, family: Pick<Family, "id" | "split">, template: number, chain: readonly string[]): Split | null {
  if (config.far_families.includes(family.id) || family.split === "far") return "far";
  if (config.held_out_templates.includes(template)) return "near";
  return chain.some((op) => config.held_out_operators.includes(op)) ? null : "seen";
}

/** Whether a goal may be used in a split: seen goals for seen cases, held-out goals for near and far, far goals for far. */
const goalFits = (goal: Goal, split: Split) => (split === "seen" ? goal.split === "seen" : split === "near" ? goal.split === "held_out" : goal.split !== "seen");

/** The wording of a case: held-out cases use the held-out half of every operator's sentences. */
const wordingOf = (combo: Pick<Combo, "id" | "split">): Wording => ({ set: combo.split === "seen" ? "seen" : "held_out", key: combo.id });

/** The operators of a chain that change the words (framing, translation): what a memory rule undergoes with its plant. */
const wordOperators = (chain: readonly string[]) => chain.filter((op) => ["frame", "translate"].includes(MUTATIONS.get(op)?.stage ?? ""));

function build(combo: Combo): AttackCase {
  const { family, targets, goal, carrier, template, chain } = combo;
  const wording = wordingOf(combo);
  const vars = { user: targets.vars.user, when: carrier.when ?? "" };
  const base = {
    id: combo.id,
    version: "1",
    title: `${family.id}: ${goal.id} via ${carrier.id}`,
    suite: targets.suite,
    agent: carrier.agent,
    surface: family.surface,
    family: family.id,
    goal: { kind: goal.kind, predicate: goal.predicate },
    mutation_chain: [...chain],
    template,
    split: combo.split,
  };
  const also = (texts: readonly string[]) => (texts[1] !== undefined && carrier.also ? [{ point: carrier.also, text: texts[1] }] : []);
  const core = (cores: readonly string[]) => (cores.length === 1 ? cores[0]! : [...cores]);

  if (family.surface === "memory") {
    // The rule is worded like its plant: framed and translated by the same chain (the model saves it decoded).
    const ruled = applyChain(fill(family.rule_templates![template]!, { ...vars, instruction: goal.instruction }), goal.instruction, wordOperators(chain), wording);
    const rule = ruled.texts[0]!;
    const plantTemplate = fill(family.templates[template]!, vars);
    const plantCore = plantTemplate.slice(0, plantTemplate.indexOf("{rule}")).replace(/[\s:'"(]+$/, "");
    const planted = applyChain(fill(plantTemplate, { rule }), plantCore, chain, wording);
    return AttackCaseSchema.parse({
      ...base,
      campaign: [carrier.task, carrier.later],
      // The model saves the rule as it understood it — decoded, translated back — from the planted instruction it read.
      injection: {
        point: carrier.point,
        also: also(planted.texts),
        text: planted.texts[0],
        core: core(planted.core),
        calls: [{ tool: "save_memory", args: { text: rule }, from: { text: [...planted.core] } }],
      },
      carried: [{ text: rule, core: ruled.core[0]!, trigger: carrier.trigger, calls: goal.calls }],
    });
  }
  const payload = applyChain(fill(family.templates[template]!, { ...vars, instruction: goal.instruction }), goal.instruction, chain, wording);
  const lure = carrier.lures ? `${carrier.lures[wording.set]}\n\n` : "";
  return AttackCaseSchema.parse({
    ...base,
    campaign: [carrier.task],
    injection: {
      point: carrier.point,
      also: also(payload.texts),
      text: `${lure}${payload.texts[0]}`,
      core: core(payload.core),
      calls: goal.calls,
      ...(family.id === "delayed-trigger" && { trigger: carrier.trigger }),
    },
  });
}

/** Every (family, goal, carrier, template, chain) the families and targets allow, with its split. */
function combos(config: GeneratorConfig, families: readonly Family[], targets: readonly Targets[]): Combo[] {
  for (const chain of config.chains) for (const op of chain) if (!MUTATIONS.has(op)) throw new MutationError(op);
  const out: Combo[] = [];
  for (const family of families) {
    for (const t of targets) {
      for (const carrier of t.carriers.filter((c) => fits(family, c))) {
        for (const goal of t.goals.filter((g) => family.goal_kinds.includes(g.kind))) {
          family.templates.forEach((_, template) => {
            for (const chain of config.chains) {
              if (chain.includes("split") && !carrier.also) continue;
              const split = splitOf(config, family, template, chain);
              if (split === null || !goalFits(goal, split)) continue;
              const id = [family.id, goal.id, carrier.id, `p${template}`, ...(chain.length ? [chain.join("+")] : [])].join("--");
              out.push({ id, family, targets: t, goal, carrier, template, chain, split });
            }
          });
        }
      }
    }
  }
  return out;
}

/**
 * Generates the corpus: for each family and split, the first `cases_per_family[split]` combinations in the order of
 * sha256(seed | version | id). Deterministic: the same seed and version give the same cases, ids and texts.
 */
export function generateCases(
  config: GeneratorConfig = loadGeneratorConfig(),
  families: readonly Family[] = loadFamilies(),
  targets: readonly Targets[] = loadTargets(),
): AttackCase[] {
  const all = combos(config, families, targets);
  const cases: AttackCase[] = [];
  for (const family of families) {
    for (const split of SPLITS) {
      const pool = all
        .filter((c) => c.family === family && c.split === split)
        .map((c) => ({ c, key: hashOrder(`${config.seed}|${config.version}|${c.id}`) }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .slice(0, config.cases_per_family[split]);
      cases.push(...pool.map(({ c }) => build(c)));
    }
  }
  return cases;
}
