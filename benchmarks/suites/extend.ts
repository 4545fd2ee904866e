import { existsSync } from "node:fs";
import { z } from "zod";
import { getSuite } from "./registry.ts";
import { jsonFilesOf, readInputFile } from "../input-files.ts";
import { parseTasks, type Suite, SuiteError } from "./suite.ts";

/**
 * Benign tasks from outside the repository for a shipped suite (`run --tasks PATH`): a file
 * `{ "suite": "workspace", "world": { ...entries the tasks need... }, "tasks": [ ...as in the suite's tasks.json... ] }`.
 * The world entries join the suite's world — list items appended (an `id` must be new), object entries added (a key
 * must be new), nothing of the shipped world changed — and the result must fit the suite's world schema; the tasks
 * are checked against the suite's tools, predicates and people as its own are, with ids that are new.
 */
export const TaskFileSchema = z.strictObject({
  /** The JSON Schema an editor completes the file from (docs/schemas/tasks.schema.json). */
  $schema: z.string().optional(),
  suite: z.string().min(1),
  world: z.record(z.string(), z.unknown()).default({}),
  tasks: z.array(z.unknown()).min(1),
});


/** Adds `extra` to `base` without changing anything `base` has; returns the problems, each with its path. */
function mergeInto(base: Record<string, unknown>, extra: Record<string, unknown>, path: string, problems: string[]): void {
  for (const [key, value] of Object.entries(extra)) {
    const at = `${path}.${key}`;
    const current = base[key];
    if (current === undefined) base[key] = value;
    else if (Array.isArray(current) && Array.isArray(value)) {
      const ids = new Set(current.map((item) => (item as { id?: unknown })?.id).filter((id) => id !== undefined));
      for (const item of value) {
        const id = (item as { id?: unknown })?.id;
        if (id !== undefined && ids.has(id)) problems.push(`${at}: an entry with id ${JSON.stringify(id)} is already in the suite's world`);
        else current.push(item);
      }
    } else if (current && value && typeof current === "object" && typeof value === "object" && !Array.isArray(current) && !Array.isArray(value)) {
      mergeInto(current as Record<string, unknown>, value as Record<string, unknown>, at, problems);
    } else problems.push(`${at}: the suite's world already has it; a task file may add entries, not change them`);
  }
}

/** The suites with the tasks of these files added; a suite no file names is returned as it is. */
export function extendSuites(paths: readonly string[]): Map<string, Suite<unknown>> {
  const extended = new Map<string, Suite<unknown>>();
  const files = paths.flatMap((p) => {
    if (!existsSync(p)) throw new SuiteError(`${p}: no such file or folder`);
    return jsonFilesOf(p);
  });
  for (const file of files) {
    const text = readInputFile(file);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SuiteError(`${file}: not valid JSON: ${(error as Error).message}`);
    }
    const parsed = TaskFileSchema.safeParse(json);
    if (!parsed.success) throw new SuiteError(`${file}: not a task file: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
    const base = extended.get(parsed.data.suite) ?? getSuite(parsed.data.suite);
    extended.set(base.name, extendSuite(base, parsed.data.world, parsed.data.tasks, file));
  }
  return extended;
}

function extendSuite(suite: Suite<unknown>, world: Record<string, unknown>, tasks: unknown[], file: string): Suite<unknown> {
  if (!suite.worldSchema) throw new SuiteError(`${file}: suite ${suite.name} takes no tasks from files`);
  const problems: string[] = [];
  const merged = suite.fixture() as Record<string, unknown>;
  mergeInto(merged, world, "world", problems);
  const fits = suite.worldSchema.safeParse(merged);
  if (!fits.success) problems.push(...fits.error.issues.map((i) => `world.${i.path.join(".")}: ${i.message}`));
  const added = parseTasks(tasks, file, suite.predicate, suite.tools, suite.people);
  const shipped = new Set(suite.tasks.map((t) => t.id));
  for (const t of added) if (shipped.has(t.id)) problems.push(`tasks: id ${t.id} is already a task of ${suite.name}; choose another id`);
  if (problems.length > 0) throw new SuiteError(`${file}: ${problems.join("; ")}`);
  const fixture = fits.data as unknown;
  return { ...suite, tasks: [...suite.tasks, ...added], fixture: () => structuredClone(fixture) };
}
