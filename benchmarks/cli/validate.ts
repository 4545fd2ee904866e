import { readFileSync } from "node:fs";
import { loadFamilies, parseFamily } from "../../attacks/families.ts";
import { generateCases, loadGeneratorConfig } from "../../attacks/generator.ts";
import { idProblems, parseAttackFile } from "../../attacks/load.ts";
import { parseTargets } from "../../attacks/targets.ts";
import { loadConfigurationLayers, parseDefenseConfiguration } from "../../defenses/config.ts";
import { checkAgainstSuite, checkCase, fileLeakage, loadCorpus } from "../corpus.ts";
import { RunConfigSchema } from "../runner/config.ts";
import { extendSuites } from "../suites/extend.ts";

/** An error the CLI reports as bad input (exit 2, one message): every such error carries `code: "bad_input"`. */
export const isInputError = (error: unknown): error is Error => (error as { code?: unknown })?.code === "bad_input";

/**
 * Checks files of any kind `anis validate` takes — attack cases, families, targets, benign task files, defense and
 * run configurations —
 * by their content (a configuration's `module:` and `http:` layers are loaded and checked). Never throws: each good file gets a line in `ok`, each problem a line in `problems` naming its
 * file, whatever the file holds (files come from strangers).
 */
export async function validateFiles(files: readonly string[]): Promise<{ ok: string[]; problems: string[] }> {
  const ok: string[] = [];
  const problems: string[] = [];
  // Family files named in the same call are known to the case files beside them (your own family and its cases).
  const families = files.flatMap((file) => {
    try {
      return [parseFamily(readFileSync(file, "utf8"), file)];
    } catch {
      return [];
    }
  });
  for (const file of files) {
    try {
      const text = readFileSync(file, "utf8");
      const json = JSON.parse(text) as unknown;
      if (Array.isArray(json)) {
        const cases = parseAttackFile(text, file);
        const found = [...idProblems(file, cases, shippedIds()), ...cases.flatMap((c) => checkCase(c, families).map((p) => `${file}: ${c.id}: ${p}`))];
        const leakage = fileLeakage(file, cases);
        problems.push(...found, ...leakage.problems);
        if (found.length + leakage.problems.length === 0) ok.push(`${file}: ${cases.length} attack case(s) ok; leakage: ${leakage.summary}`);
      } else if (json && typeof json === "object" && "layers" in json) {
        await loadConfigurationLayers([], [{ text, file }]);
        parseDefenseConfiguration(text, file);
        ok.push(`${file}: defense configuration ok`);
      } else if (json && typeof json === "object" && "templates" in json) {
        const family = parseFamily(text, file);
        ok.push(`${file}: family ${family.id} ok (${family.templates.length} templates)`);
      } else if (json && typeof json === "object" && "tasks" in json && "suite" in json) {
        const suite = extendSuites([file]).values().next().value!;
        ok.push(`${file}: benign tasks ok for ${suite.name} (${suite.tasks.length} tasks with them)`);
      } else if (json && typeof json === "object" && "carriers" in json) {
        const targets = parseTargets(text, file);
        const cases = generateCases(loadGeneratorConfig(), loadFamilies(), [targets]);
        const found = cases.flatMap((c) => checkAgainstSuite(c).map((p) => `${file}: generated case ${c.id}: ${p}`));
        if (found.length > 0) problems.push(...found);
        else ok.push(`${file}: targets ok (${targets.goals.length} goals, ${targets.carriers.length} carriers, ${cases.length} cases generated)`);
      } else {
        const parsed = RunConfigSchema.safeParse(json);
        if (!parsed.success) problems.push(`${file}: invalid run configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
        else ok.push(`${file}: run configuration ok`);
      }
    } catch (error) {
      problems.push(isInputError(error) ? error.message : `${file}: ${(error as Error).message}`);
    }
  }
  return { ok, problems };
}

let shipped: ReadonlySet<string> | undefined;
/** Ids of the shipped corpus; empty when the shipped corpus itself does not load (validate names that file). */
function shippedIds(): ReadonlySet<string> {
  if (!shipped) {
    try {
      shipped = new Set(loadCorpus().map((c) => c.id));
    } catch {
      shipped = new Set();
    }
  }
  return shipped;
}
