import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type AttackCase, AttackFileSchema } from "./schema.ts";

export const CASES_DIR = fileURLToPath(new URL("./cases", import.meta.url));

/** A malformed attack file: every problem, each as `file → at path: message`. CLI exit code 2. */
export class AttackFileError extends Error {
  readonly code = "bad_input";
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: invalid attack file\n${problems.map((p) => `  ✖ ${p}`).join("\n")}`);
    this.name = "AttackFileError";
  }
}

/** Parses one attack file; rejects it whole if any case is malformed. */
export function parseAttackFile(text: string, file: string): AttackCase[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AttackFileError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = AttackFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new AttackFileError(
      file,
      parsed.error.issues.map((i) => `${i.message} → at ${file}${i.path.length ? `: ${i.path.map(String).join(".")}` : ""}`),
    );
  }
  return parsed.data;
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return jsonFiles(path);
      return name.endsWith(".json") ? [path] : [];
    });
}

/** All attack cases under a folder (default: the shipped corpus), in file order; duplicate ids are an error. */
export function loadAttackCases(dir: string = CASES_DIR): AttackCase[] {
  const cases: AttackCase[] = [];
  const where = new Map<string, string>();
  for (const file of jsonFiles(dir)) {
    const name = relative(process.cwd(), file);
    for (const c of parseAttackFile(readFileSync(file, "utf8"), name)) {
      const first = where.get(c.id);
      if (first) throw new AttackFileError(name, [`duplicate attack id "${c.id}" (first in ${first})`]);
      where.set(c.id, name);
      cases.push(c);
    }
  }
  return cases;
}

/**
 * What the corpus loader would refuse later, said now by `validate`: an id twice in one file, or an id the shipped
 * corpus already has (`shipped`: every id of the corpus). A shipped file is not a clash with itself.
 */
export function idProblems(file: string, cases: readonly AttackCase[], shipped: ReadonlySet<string>): string[] {
  const own = resolve(file).startsWith(`${CASES_DIR}/`) ? new Set(cases.map((c) => c.id)) : new Set<string>();
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const c of cases) {
    if (seen.has(c.id)) problems.push(`${file}: duplicate attack id "${c.id}" in this file`);
    else if (shipped.has(c.id) && !own.has(c.id)) problems.push(`${file}: attack id "${c.id}" is already a case of the shipped corpus; choose another id`);
    seen.add(c.id);
  }
  return problems;
}
