import { DefenseConfigError } from "../errors.ts";
import { type Defense, HOOK_NAMES, type HookName, type Layer } from "../types.ts";
import { informationFlow } from "./information-flow.ts";

/** Builds a layer from its parameters (validated by the factory; bad ones throw). */
export type DefenseFactory = (params?: unknown) => Defense;

/** Every built-in layer, by id. Add a layer here to make it usable in configuration files. */
export const BUILTIN_DEFENSES: ReadonlyMap<string, DefenseFactory> = new Map([["information-flow", informationFlow]]);

export interface DefenseInfo {
  readonly id: string;
  readonly layer: Layer;
  readonly description: string;
  readonly hooks: readonly string[];
}

export function createDefense(id: string, params: unknown, where: string): Defense {
  const factory = BUILTIN_DEFENSES.get(id);
  if (!factory) {
    throw new DefenseConfigError(`${where}: unknown defense layer "${id}". Valid layers: ${[...BUILTIN_DEFENSES.keys()].join(", ")}`);
  }
  try {
    return factory(params ?? {});
  } catch (error) {
    throw new DefenseConfigError(`${where}: invalid params for "${id}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function hooksOf(defense: Defense): string[] {
  const names: string[] = HOOK_NAMES.filter((h: HookName) => defense.hooks[h] !== undefined);
  if (defense.hooks.systemPrompt) names.push("systemPrompt");
  return names;
}

export function describeBuiltins(): DefenseInfo[] {
  return [...BUILTIN_DEFENSES.values()].map((factory) => {
    const defense = factory({});
    return { id: defense.id, layer: defense.layer, description: defense.description, hooks: hooksOf(defense) };
  });
}
