import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type ApproverBehaviour, HUMAN_APPROVER } from "./approver.ts";
import { createDefense, hooksOf } from "./builtins/index.ts";
import { DefenseConfigError } from "./errors.ts";
import { isExternal, loadExternalLayers, type SandboxOptions } from "./external.ts";
import type { Defense } from "./types.ts";

const CONFIG_DIR = join(dirname(fileURLToPath(import.meta.url)), "configs");

export const DefenseConfigFile = z.strictObject({
  /** The JSON Schema an editor completes the file from (docs/schemas/configuration.schema.json). */
  $schema: z.string().optional(),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case kebab-case"),
  description: z.string().min(1),
  /** Layers in composition order: the first to answer other than `allow` decides. */
  layers: z.array(
    z.strictObject({
      use: z.string().min(1),
      params: z.record(z.string(), z.unknown()).optional(),
      /** A `module:` layer's sandbox: network access (off by default) and the deadline of one hook call. */
      network: z.boolean().optional(),
      timeout_ms: z.number().int().min(1).max(600_000).optional(),
    }),
  ),
  /**
   * Who answers `ask_approval`: by default the documented human (see defenses/approver.ts), whose rates may be set
   * one by one; `{ "error_rate": r }` errs at one rate either way, and `{ "error_rate": 0 }` is the ideal human.
   */
  approver: z
    .union([
      z.strictObject({ error_rate: z.number().min(0).max(1) }),
      z.strictObject({
        approve_unneeded: z.number().min(0).max(1).optional(),
        approve_unneeded_max: z.number().min(0).max(1).optional(),
        refuse_needed: z.number().min(0).max(1).optional(),
        habituation: z.number().min(0).max(1).optional(),
      }),
    ])
    .default({}),
});

function approverOf(settings: DefenseConfigFile["approver"]): ApproverBehaviour {
  if ("error_rate" in settings) return settings.error_rate === 0 ? { kind: "ideal" } : { kind: "flip", error_rate: settings.error_rate };
  return { ...HUMAN_APPROVER, ...settings } as ApproverBehaviour;
}
export type DefenseConfigFile = z.infer<typeof DefenseConfigFile>;

/** A named configuration, resolved: its layers built, its parameters recorded for the manifest. */
export interface DefenseConfiguration {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly layers: readonly Defense[];
  /** Who answers the configuration's approval requests. */
  readonly approver: ApproverBehaviour;
  /** The attack splits its learned layers were trained on; empty when it learned nothing. */
  readonly trainedOn: readonly string[];
  /** `{use, version, params}` per layer, as resolved: what the manifest records. */
  readonly spec: readonly { readonly use: string; readonly layer: string; readonly version: string; readonly params: unknown; readonly source?: string; readonly network?: true }[];
}

/** Names of the configurations shipped in `defenses/configs/`. */
export function configurationNames(): string[] {
  return readdirSync(CONFIG_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
}

function configurationFile(nameOrPath: string): string {
  const shipped = join(CONFIG_DIR, `${nameOrPath}.json`);
  const file = existsSync(shipped) ? shipped : nameOrPath.endsWith(".json") && existsSync(nameOrPath) ? nameOrPath : null;
  if (!file) {
    throw new DefenseConfigError(`unknown defense configuration "${nameOrPath}". Valid configurations: ${configurationNames().join(", ")} (or a path to a .json file)`);
  }
  return file;
}

/** Resolves a configuration name (from `defenses/configs/`) or a path to a configuration file. */
export function loadDefenseConfiguration(nameOrPath: string): DefenseConfiguration {
  const file = configurationFile(nameOrPath);
  return parseDefenseConfiguration(readFileSync(file, "utf8"), file);
}

/**
 * Loads the `module:` and `http:` layers that these configurations (names, files, or the text of one file) use, so
 * that building them is synchronous. A file that does not parse is left for the build to report.
 */
export async function loadConfigurationLayers(namesOrPaths: readonly string[], texts: readonly { text: string; file: string }[] = []): Promise<void> {
  const sources = [...namesOrPaths.filter((n) => n !== "all").map((n) => configurationFile(n)).map((file) => ({ text: readFileSync(file, "utf8"), file })), ...texts];
  const uses = sources.flatMap(({ text, file }) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return [];
    }
    const parsed = DefenseConfigFile.safeParse(json);
    return parsed.success
      ? parsed.data.layers.flatMap((l, i) => (isExternal(l.use) ? [{ use: l.use, base: dirname(file), where: `${file} → at layers.${i}`, params: l.params ?? {}, options: sandboxOptions(l) }] : []))
      : [];
  });
  await loadExternalLayers(uses);
}

const sandboxOptions = (l: DefenseConfigFile["layers"][number]): SandboxOptions => ({
  ...(l.network !== undefined && { network: l.network }),
  ...(l.timeout_ms !== undefined && { timeout_ms: l.timeout_ms }),
});

export function parseDefenseConfiguration(text: string, file: string): DefenseConfiguration {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DefenseConfigError(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = DefenseConfigFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ✖ ${i.message} → at ${i.path.join(".") || "(root)"}`);
    throw new DefenseConfigError(`${file}: invalid defense configuration\n${issues.join("\n")}`);
  }
  const config = parsed.data;
  // Every bad layer and parameter at once, as attack files report every problem.
  const problems: string[] = [];
  const built = config.layers.map((l, i) => {
    try {
      return createDefense(l.use, l.params, `layers.${i}`, dirname(file), sandboxOptions(l));
    } catch (error) {
      if (!(error instanceof DefenseConfigError)) throw error;
      problems.push(error.message);
      return null;
    }
  });
  if (problems.length > 0) throw new DefenseConfigError(`${file}: invalid defense configuration\n${problems.map((p) => `  ✖ ${p}`).join("\n")}`);
  const layers = built.filter((d): d is Defense => d !== null);
  return {
    name: config.name,
    description: config.description,
    file,
    layers,
    approver: approverOf(config.approver),
    trainedOn: [...new Set(layers.flatMap((d) => d.trainedOn ?? []))].sort(),
    spec: layers.map((d) => ({ use: d.id, layer: d.layer, version: d.version, params: d.params, ...(d.source && { source: d.source }), ...(d.network && { network: true }) })),
  };
}

/** One line per shipped configuration, for `anis list defenses`. */
export function describeConfigurations() {
  return configurationNames().map((name) => {
    const config = loadDefenseConfiguration(name);
    return {
      name,
      description: config.description,
      layers: config.layers.map((d) => ({ id: d.id, layer: d.layer, hooks: hooksOf(d) })),
    };
  });
}
