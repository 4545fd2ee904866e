import { existsSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { loadFamilies, parseFamily } from "../../attacks/families.ts";
import { generateCases, loadGeneratorConfig } from "../../attacks/generator.ts";
import { idProblems, parseAttackFile } from "../../attacks/load.ts";
import { parseTargets } from "../../attacks/targets.ts";
import { loadConfigurationLayers, parseDefenseConfiguration } from "../../defenses/config.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { PROJECT_ROOT } from "../../defenses/import-graph.ts";
import { checkAgainstSuite, checkCase, loadCorpus, outsideLeakage } from "../corpus.ts";
import { RunConfigSchema } from "../runner/config.ts";
import { extendSuites } from "../suites/extend.ts";
import { jsonFilesOf, readInputFile } from "../input-files.ts";
import { tryOutsideWork } from "./try-outside.ts";

/** An error the CLI reports as bad input (exit 2, one message): every such error carries `code: "bad_input"`. */
export const isInputError = (error: unknown): error is Error => (error as { code?: unknown })?.code === "bad_input";

/**
 * Checks files of any kind `anis validate` takes — attack cases, families, targets, benign task files, defense and
 * run configurations — by their content (a configuration's `module:` and `http:` layers are loaded and checked).
 * Attack cases find their families among the files named, `families` (files or folders), and the family files beside
 * them (their folder, or a `families/` folder next to it); the leakage rule is applied to all of them together. With
 * `tryOutside`, work from outside the repository that passes is then run undefended (`tryOutsideWork`): a case that
 * cannot succeed or a task that cannot be done is a problem, with the reason. Never throws: each good file gets a
 * line in `ok`, each problem a line in `problems` naming its file, whatever the file holds (files come from strangers).
 */
export async function validateFiles(paths: readonly string[], options: { readonly families?: readonly string[]; readonly tryOutside?: boolean } = {}): Promise<{ ok: string[]; problems: string[] }> {
  const ok: string[] = [];
  const problems: string[] = [];
  // A folder stands for the JSON files under it.
  const files = paths.flatMap((path) => {
    try {
      const found = existsSync(path) ? jsonFilesOf(path) : [path];
      if (found.length === 0) problems.push(`${path}: a folder with no JSON files in it`);
      return found;
    } catch (error) {
      problems.push(isInputError(error) ? error.message : `${path}: ${(error as Error).message}`);
      return [];
    }
  });
  const familyFiles = [...new Set([...files, ...familiesBeside(files), ...(options.families ?? []).flatMap(jsonFilesOrNothing)].map((f) => resolve(f)))];
  const parsedFamilies = familyFiles.flatMap((file) => {
    try {
      return [{ file, family: parseFamily(readInputFile(file), file) }];
    } catch {
      return [];
    }
  });
  const families = parsedFamilies.map((f) => f.family);
  const caseFiles: { file: string; cases: AttackCase[] }[] = [];
  const taskFiles: string[] = [];
  for (const file of files) {
    try {
      const text = readInputFile(file);
      const json = JSON.parse(text) as unknown;
      if (Array.isArray(json)) {
        const cases = parseAttackFile(text, file);
        const found = [...idProblems(file, cases, shippedIds()), ...cases.flatMap((c) => checkCase(c, families).map((p) => `${file}: ${c.id}: ${p}`))];
        problems.push(...found);
        if (found.length === 0) {
          caseFiles.push({ file, cases });
          // Its line, in the files' order, once the leakage of all cases together is known.
          ok.push(file);
        }
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
        taskFiles.push(file);
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
  if (caseFiles.length > 0) {
    try {
      // One rule over every case named, whatever files they are in.
      const leakage = outsideLeakage(caseFiles.flatMap(({ file, cases }) => cases.map((c) => ({ file, c }))));
      problems.push(...leakage.problems);
      const lines = new Map(caseFiles.map(({ file, cases }) => [file, `${file}: ${cases.length} attack case(s) ok; leakage: ${leakage.summary}`]));
      ok.splice(0, ok.length, ...ok.flatMap((line) => (lines.has(line) ? (leakage.problems.length === 0 ? [lines.get(line)!] : []) : [line])));
    } catch (error) {
      const files = new Set(caseFiles.map((f) => f.file));
      ok.splice(0, ok.length, ...ok.filter((line) => !files.has(line)));
      problems.push(isInputError(error) ? error.message : (error as Error).message);
    }
  }
  const outside = caseFiles.filter(({ file }) => !resolve(file).startsWith(SHIPPED_CASES));
  if (options.tryOutside && problems.length === 0 && outside.length + taskFiles.length > 0) {
    try {
      const tried = await tryOutsideWork({
        cases: outside.flatMap(({ file, cases }) => cases.map((c) => ({ file, c }))),
        caseFiles: outside.map((f) => resolve(f.file)),
        families: parsedFamilies.filter((f) => !f.file.startsWith(SHIPPED_CASES)).map((f) => f.file),
        tasks: taskFiles.map((f) => resolve(f)),
      });
      problems.push(...tried);
      if (tried.length === 0) ok.push(`tried undefended under sim:obedient: ${outside.reduce((n, f) => n + f.cases.length, 0)} attack case(s) succeed, ${taskFiles.length} task file(s) done`);
    } catch (error) {
      problems.push(isInputError(error) ? error.message : `trying the outside work: ${(error as Error).message}`);
    }
  }
  return { ok, problems };
}

/** The repository's own attack cases: validated, never tried again (the shipped corpus is measured by the benchmark). */
const SHIPPED_CASES = resolve(PROJECT_ROOT, "attacks") + sep;

/** Family files beside case files: in their folder, or in a `families/` folder next to it. */
function familiesBeside(files: readonly string[]): string[] {
  const folders = new Set(files.flatMap((f) => [dirname(resolve(f)), join(dirname(dirname(resolve(f))), "families")]));
  return [...folders].filter((d) => !resolve(d).startsWith(SHIPPED_CASES)).flatMap(jsonFilesOrNothing);
}

const jsonFilesOrNothing = (path: string): string[] => {
  try {
    return existsSync(path) ? jsonFilesOf(path) : [];
  } catch {
    return [];
  }
};

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
