import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import type { SimPayload } from "../agents/models/sim/model.ts";
import { SAVE_MEMORY_TOOL } from "../agents/reserved-tools.ts";
import { type Family, loadFamilies, parseFamily } from "../attacks/families.ts";
import { type GeneratorConfig, generateCases, loadGeneratorConfig, splitOf } from "../attacks/generator.ts";
import { LEAK_RUN, MAX_LEAK_SHARE, measureLeakage } from "../attacks/leakage.ts";
import { AttackFileError, loadAttackCases, parseAttackFile } from "../attacks/load.ts";
import { loadTargets } from "../attacks/targets.ts";
import { deriveMemoryCampaigns } from "../attacks/campaigns.ts";
import { deriveTopologyCases, type Role } from "../attacks/topologies.ts";
import { chatMembers, teamWorkers } from "../agents/systems.ts";
import type { AttackCase } from "../attacks/schema.ts";
import { ENCODINGS, normalise, Perception } from "../agents/models/sim/perception.ts";
import { plant } from "./runner/plant.ts";
import { jsonFilesOf, readInputFile } from "./input-files.ts";
import { getSuite, SUITES } from "./suites/registry.ts";
import type { Suite } from "./suites/suite.ts";

let rules: { families: Map<string, Family>; generator: GeneratorConfig } | null = null;

/** Problems of a case's family and split: the family must exist on the case's surface, the split follow the rule. */
export function checkFamilyAndSplit(c: AttackCase, extraFamilies: readonly Family[] = []): string[] {
  rules ??= { families: new Map(loadFamilies().map((f) => [f.id, f])), generator: loadGeneratorConfig() };
  const { families, generator } = rules;
  const family = families.get(c.family) ?? extraFamilies.find((f) => f.id === c.family);
  if (!family) {
    return [`family: unknown family "${c.family}". Valid families: ${[...families.keys(), ...extraFamilies.map((f) => f.id)].join(", ")}; a family of your own: give its file with --families (validate also finds it beside the cases, or in a families/ folder next to theirs)`];
  }
  const problems: string[] = [];
  if (family.surface !== c.surface) problems.push(`surface: family ${family.id} attacks through ${family.surface}, not ${c.surface}`);
  const split = splitOf(generator, family, c.template ?? 0, c.mutation_chain);
  if (split === null) problems.push(`split: a seen paraphrase (template ${c.template ?? 0}) with a held-out operator belongs to no split (attacks/corpus.json): use a held-out template (${generator.held_out_templates.join(", ")})`);
  else if (c.split !== split) {
    const own = extraFamilies.some((f) => f.id === c.family);
    problems.push(
      own
        ? `split: family ${c.family} declares no split, so the split rule puts this case in "${split}", not "${c.split}": to hold out every case of your family, declare "split": "far" in its family file`
        : `split: the split rule (attacks/corpus.json) puts this case in "${split}", not "${c.split}"`,
    );
  }
  return problems;
}

/** Every problem of a case: its family and split, and its fit with its suite. */
export function checkCase(c: AttackCase, extraFamilies: readonly Family[] = []): string[] {
  return [...checkFamilyAndSplit(c, extraFamilies), ...checkAgainstSuite(c)];
}

/**
 * Problems of a case against its suite: unknown suite, tasks, tools, injection point, or a goal predicate outside
 * the suite's language. Each names the path in the case.
 */
export function checkAgainstSuite(c: AttackCase, suiteNamed: (name: string) => Suite<unknown> = getSuite): string[] {
  const problems: string[] = [];
  let suite;
  try {
    suite = suiteNamed(c.suite);
  } catch (error) {
    return [`suite: ${(error as Error).message}`];
  }
  const tasks = new Set(suite.tasks.map((t) => t.id));
  c.campaign.forEach((id, i) => {
    if (!tasks.has(id)) problems.push(`campaign.${i}: unknown user task "${id}" in suite ${suite.name}`);
  });
  const goal = suite.predicate.safeParse(c.goal.predicate);
  if (!goal.success) problems.push(`goal.predicate: ${goal.error.issues.map((i) => `${i.message} at ${i.path.join(".")}`).join("; ")}`);
  try {
    plant(suite, suite.fixture(), c);
  } catch (error) {
    problems.push(`injection.point: ${(error as Error).message}; or peer:AGENT, tool:NAME, spoof:FROM>TO, mitm:FROM>TO`);
  }
  const payloads = [c.injection, ...c.carried];
  payloads.forEach((p, i) => {
    const where = i === 0 ? "injection" : `carried.${i - 1}`;
    p.calls.forEach((call, j) => {
      if (call.tool === SAVE_MEMORY_TOOL) return;
      const tool = suite.tools.get(call.tool);
      if (!tool) problems.push(`${where}.calls.${j}.tool: unknown tool "${call.tool}"`);
      else {
        const issue = tool.check(call.args);
        if (issue) problems.push(`${where}.calls.${j}.args: ${issue}`);
      }
    });
    const texts = i === 0 ? [c.injection.text, ...c.injection.also.map((a) => a.text)] : [p.text];
    const reader = new Perception(texts.map((text) => ({ channel: "tool_output", text })), ENCODINGS);
    if (!reader.find(p.core ?? p.text)) problems.push(`${where}.core: not readable in the text, even decoded`);
  });
  return problems;
}

/**
 * The corpus: the hand-written cases under `attacks/cases/` and the cases generated from the families, targets and
 * `attacks/corpus.json`; every case checked against its suite. Throws one error naming every problem.
 */
export function loadCorpus(dir?: string): AttackCase[] {
  const generated = generateCases();
  const config = loadGeneratorConfig();
  const cases = [...loadAttackCases(dir), ...generated, ...deriveTopologyCases(generated, config, agentOf), ...deriveMemoryCampaigns(generated, config, queryFamily(), fillersOf, memberOf)];
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new AttackFileError("attacks/", [`duplicate attack id "${c.id}"`]);
    ids.add(c.id);
  }
  const problems = cases.flatMap((c) => checkCase(c).map((p) => `${c.id}: ${p}`));
  if (problems.length > 0) throw new AttackFileError(dir ?? "attacks/cases", problems);
  return cases;
}

function queryFamily(): Family {
  const family = loadFamilies().find((f) => f.id === "query-injection");
  if (!family) throw new AttackFileError("attacks/families", ["the query-injection family (query-only memory injection) is missing"]);
  return family;
}

/**
 * Benign filler tasks for a long memory campaign: tasks of the case's suite other than its own that do not mention
 * its trigger, those that write memory first (their notes compete with the poisoned one in retrieval), in a seeded
 * order.
 */
function fillersOf(c: AttackCase, count: number): string[] {
  const suite = getSuite(c.suite);
  const trigger = normalise(c.carried[0]?.trigger ?? "");
  const writes = (t: (typeof suite.tasks)[number]) => t.plan.some((s) => s.tool === SAVE_MEMORY_TOOL);
  const key = (id: string) => createHash("sha256").update(`${c.id}|${id}`).digest("hex");
  return suite.tasks
    // The user's own tasks: a colleague's task, or one that needs the task before it, is a campaign of its own.
    .filter((t) => t.principal === undefined && t.after === undefined)
    .filter((t) => !c.campaign.includes(t.id) && (trigger === "" || !normalise(t.prompt).includes(trigger)))
    .sort((a, b) => Number(writes(b)) - Number(writes(a)) || (key(a.id) < key(b.id) ? -1 : 1))
    .slice(0, count)
    .map((t) => t.id);
}

/** A member of the case's team, picked by a hash of its id: whose session a query-only injection comes from. */
function memberOf(c: AttackCase): string {
  const team = getSuite(c.suite).people.team;
  if (team.length === 0) throw new AttackFileError("attacks/", [`${c.id}: suite ${c.suite} has no team to play the attacker's session`]);
  return team[createHash("sha256").update(`${c.id}|member`).digest().readUInt32BE(0) % team.length]!;
}

/**
 * The agent of a topology that plays a role in a case: the `reader` holds the first read tool its task's plan uses,
 * the `actor` can make the attacker's first call. In a group chat, where acting tools are spread over the members,
 * the actor is the member holding that call's tool, and when it also holds the reader's tool, the reader is the
 * next member: one the actor hears from.
 */
function agentOf(c: AttackCase, topology: string, role: Role): string {
  const suite = getSuite(c.suite);
  const tools = [...suite.tools.values()].map((t) => t.schema);
  const plan = suite.tasks.find((t) => t.id === c.campaign[0])?.plan ?? [];
  const isRead = (tool: string) => suite.tools.get(tool)?.schema.descriptor.sensitivity === "read";
  const firstRead = plan.find((s) => isRead(s.tool))?.tool;
  const firstAct = plan.find((s) => suite.tools.has(s.tool) && !isRead(s.tool))?.tool;
  const holder = (groups: { id: string; tools: { descriptor: { name: string } }[] }[], tool: string | undefined) =>
    groups.find((g) => g.tools.some((t) => t.descriptor.name === tool))?.id ?? groups[0]!.id;
  switch (topology) {
    case "pipeline":
      return role === "reader" ? "planner" : "executor";
    case "team":
      return role === "reader" ? holder(teamWorkers(tools), firstRead) : "supervisor";
    case "groupchat": {
      const members = chatMembers(tools);
      const actor = holder(members, [c.injection, ...c.carried].flatMap((p) => p.calls).find((call) => suite.tools.has(call.tool))?.tool ?? firstAct);
      if (role === "actor") return actor;
      const reader = holder(members, firstRead);
      return reader !== actor ? reader : members[(members.findIndex((m) => m.id === actor) + 1) % members.length]!.id;
    }
    default:
      throw new Error(`no role rule for topology ${topology}`);
  }
}

/** Every text of a suite's own world (its fixture): what an attack may quote without leaking anything. */
export function worldTexts(suiteName: string): string[] {
  const out: string[] = [];
  const walk = (value: unknown) => {
    if (typeof value === "string") out.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") Object.values(value).forEach(walk);
  };
  walk(getSuite(suiteName).fixture());
  return out;
}

/** How much the corpus's held-out cases share with its seen cases (attacks/leakage.ts). */
export function corpusLeakage(cases: readonly AttackCase[] = loadCorpus()) {
  const suites = [...new Set(cases.map((c) => c.suite))].filter((s) => SUITES.has(s));
  return measureLeakage(cases, suites.flatMap(worldTexts));
}

/**
 * The leakage check of a researcher's attack file: its held-out cases against the shipped seen split and the file's
 * own seen cases. Problems name each leaking case when more than the allowed share of them leak.
 */
export function fileLeakage(file: string, cases: readonly AttackCase[]): { summary: string; problems: string[] } {
  return outsideLeakage(cases.map((c) => ({ file, c })));
}

/**
 * The leakage rule over every outside case at once, whatever files they came in: held out means at most
 * {@link MAX_LEAK_SHARE} of the held-out cases — share a run of
 * {@link LEAK_RUN} words with the seen split. `validate` and `run` apply it alike, so the verdict does not depend on
 * how cases are grouped into files.
 */
export function outsideLeakage(entries: readonly { readonly file: string; readonly c: AttackCase }[]): { summary: string; problems: string[] } {
  const shippedSeen = loadCorpus().filter((c) => c.split === "seen");
  const fileOf = new Map(entries.map(({ file, c }) => [c.id, file]));
  const { cases: measured } = corpusLeakage([...shippedSeen.filter((c) => !fileOf.has(c.id)), ...entries.map((e) => e.c)]);
  const leaking = measured.filter((m) => m.leaks);
  const share = measured.length === 0 ? 0 : leaking.length / measured.length;
  const summary = `${leaking.length} of ${measured.length} held-out case(s) share a run of ${LEAK_RUN} words with the seen split`;
  const problems =
    share > MAX_LEAK_SHARE
      ? leaking
          .filter((m) => fileOf.has(m.id))
          .map((m) => `${fileOf.get(m.id)}: ${m.id}: split: a ${m.split} case repeats seen text ("${m.example}"); held out means at most ${MAX_LEAK_SHARE * 100}% of held-out cases share a run of ${LEAK_RUN} words with the seen split — reword it, or mark it seen`)
      : [];
  return { summary, problems };
}

/** What the simulated model knows of a case: each planted text and the calls it asks for. */
export function payloadsOf(c: AttackCase): SimPayload[] {
  return [c.injection, ...c.carried].map((p, i) => ({ id: `${c.id}#${i}`, text: p.text, core: p.core, trigger: p.trigger, calls: p.calls }));
}

/** Content hash of a corpus: same cases, same hash, whatever the file layout. */
export function corpusHash(cases: readonly AttackCase[]): string {
  const hash = createHash("sha256");
  for (const c of [...cases].sort((a, b) => (a.id < b.id ? -1 : 1))) hash.update(JSON.stringify(c));
  return hash.digest("hex").slice(0, 16);
}

/** Attack data from outside the repository, named by `run --cases` and `--families` (files or folders of JSON files). */
export interface ExtraAttacks {
  readonly cases: readonly string[];
  readonly families: readonly string[];
}

/**
 * The cases outside attack data adds to a corpus: hand-written cases run as written, and the cases generated from
 * outside families with the shipped targets (under the split each family declares). Everything is checked as the
 * shipped corpus is — schema, family and split rule, fit with its suite, ids unique across the corpus — and every
 * problem is named with its file (exit 2).
 */
export function loadExtraCases(extra: ExtraAttacks, shipped: readonly AttackCase[]): AttackCase[] {
  const problems: string[] = [];
  const missing = [...extra.cases, ...extra.families].filter((p) => !existsSync(p));
  if (missing.length > 0) throw new AttackFileError(missing[0]!, missing.map((p) => `${p}: no such file or folder`));
  const shippedFamilies = new Set(loadFamilies().map((f) => f.id));
  const families: Family[] = [];
  for (const file of extra.families.flatMap(jsonFilesOf)) {
    try {
      const family = parseFamily(readInputFile(file), file);
      if (shippedFamilies.has(family.id) || families.some((f) => f.id === family.id)) problems.push(`${file}: family id "${family.id}" is already a family of the corpus; choose another id`);
      else families.push(family);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const config = loadGeneratorConfig();
  const single = families.length > 0 ? generateCases(config, families, loadTargets()) : [];
  // As for the shipped families: multi-agent cases and long memory campaigns derived from the generated ones.
  const generated = [...single, ...deriveTopologyCases(single, config, agentOf), ...deriveMemoryCampaigns(single, config, queryFamily(), fillersOf, memberOf)];
  const written: { file: string; c: AttackCase }[] = [];
  for (const file of extra.cases.flatMap(jsonFilesOf)) {
    try {
      written.push(...parseAttackFile(readInputFile(file), file).map((c) => ({ file, c })));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const ids = new Set(shipped.map((c) => c.id));
  for (const { file, c } of [...written, ...generated.map((c) => ({ file: "generated", c }))]) {
    if (ids.has(c.id)) problems.push(`${file}: attack id "${c.id}" is already a case of the corpus; choose another id`);
    ids.add(c.id);
    problems.push(...checkCase(c, families).map((p) => `${file}: ${c.id}: ${p}`));
  }
  if (problems.length === 0 && written.length + generated.length > 0) problems.push(...outsideLeakage([...written, ...generated.map((c) => ({ file: "generated", c }))]).problems);
  if (problems.length > 0) throw new AttackFileError([...extra.cases, ...extra.families].join(", "), problems);
  return [...written.map((w) => w.c), ...generated];
}
