import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { SPLITS } from "../../attacks/schema.ts";
import { formatIssues } from "../suites/suite.ts";
import { INJECAGENT_SETTINGS } from "../../attacks/importers/injecagent.ts";

const CONFIG_DIR = fileURLToPath(new URL("../configs", import.meta.url));

/** A malformed or unknown run configuration. CLI exit code 2. */
export class RunConfigError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "RunConfigError";
  }
}

/** A run configuration file: the matrix of a run. */
export const RunConfigSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().min(1),
  suites: z.array(z.string()).min(1),
  agents: z.array(z.string()).min(1),
  /** Defense configuration names or files; `all` means every shipped configuration. */
  defenses: z.array(z.string()).min(1),
  models: z.array(z.string()).min(1),
  seeds: z.number().int().min(1).max(1000),
  /** Globs over attack ids, comma-separated (`*` matches any run of characters); `""` runs no attacks. */
  attacks: z.string().default("*"),
  /** Run only this many attack cases, a fixed sample (by a hash of their ids) of those selected. */
  sample: z.number().int().min(1).nullable().default(null),
  split: z.enum(SPLITS).nullable().default(null),
  benign: z.boolean().default(true),
  /** Hand-written attack cases from outside the repository: files or folders of them; they join the corpus. */
  cases: z.array(z.string().min(1)).default([]),
  /** Benign task files from outside the repository (or folders of them), each extending a shipped suite. */
  tasks: z.array(z.string().min(1)).default([]),
  /** Family files from outside the repository (or folders of them): their generated cases join the corpus. */
  families: z.array(z.string().min(1)).default([]),
  /**
   * Run only the work from outside the repository: its cases (hand-written and generated from its families) and,
   * when it has any, its benign tasks (else the shipped ones, so that autoimmunity is still measured).
   */
  only_outside: z.boolean().default(false),
  /** A folder of InjecAgent data to import and run as the suite `injecagent` (its cases join the corpus). */
  injecagent: z.string().nullable().default(null),
  /** Which of InjecAgent's settings to import: `base` (the instruction alone) or `enhanced` (framed). */
  injecagent_setting: z.enum(INJECAGENT_SETTINGS).default("base"),
  /** Campaigns run at once; the simulated model is CPU-bound, real endpoints benefit from more. */
  concurrency: z.number().int().min(1).max(256).default(1),
  /** Worker threads, each running `concurrency` campaigns; `auto`: one per core for simulated models, one for endpoints. */
  workers: z.union([z.literal("auto"), z.number().int().min(1).max(64)]).default(1),
  /** A prices file (US dollars per million tokens by model); null: the shipped `agents/models/prices.json`. */
  prices: z.string().nullable().default(null),
});
export type RunConfig = z.infer<typeof RunConfigSchema>;

export function runConfigNames(): string[] {
  return readdirSync(CONFIG_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
}

/** A shipped configuration by name (`quick`, `default`, `full`) or a path to a configuration file. */
export function loadRunConfig(nameOrPath: string): RunConfig {
  const shipped = join(CONFIG_DIR, `${nameOrPath}.json`);
  const file = existsSync(shipped) ? shipped : existsSync(nameOrPath) ? nameOrPath : null;
  if (!file) throw new RunConfigError(`unknown run configuration "${nameOrPath}". Valid configurations: ${runConfigNames().join(", ")} (or a path to a .json file)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new RunConfigError(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = RunConfigSchema.safeParse(json);
  if (!parsed.success) throw new RunConfigError(`${file}: invalid run configuration\n${formatIssues(file, parsed.error.issues)}`);
  return parsed.data;
}

/** Comma-separated globs with `*` wildcards, over whole ids. */
export function globMatcher(globs: string): (id: string) => boolean {
  const patterns = globs
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean)
    .map((glob) => new RegExp(`^${glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`));
  return (id) => patterns.some((p) => p.test(id));
}

/** What no module layer may be able to read: the run's work from outside the repository, and its results. */
export const privateFolders = (config: RunConfig, results: string): string[] => [...config.cases, ...config.families, ...config.tasks, ...(config.injecagent ? [config.injecagent] : []), results];
