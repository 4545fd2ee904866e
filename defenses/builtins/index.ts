import { ZodError } from "zod";
import { DefenseConfigError } from "../errors.ts";
import { externalFactory, isExternal, MODULE, type SandboxOptions } from "../external.ts";
import { type Defense, HOOK_NAMES, type HookName, type Layer } from "../types.ts";
import { argumentConstraints } from "./argument-constraints.ts";
import { argumentVerifier } from "./argument-verifier.ts";
import { capabilityGate } from "./capability-gate.ts";
import { agentQuarantine } from "./agent-quarantine.ts";
import { goalConsistency } from "./goal-consistency.ts";
import { hardenedPrompt } from "./hardened-prompt.ts";
import { informationFlow } from "./information-flow.ts";
import { maskedReexecution } from "./masked-reexecution.ts";
import { memoryQuarantine } from "./memory-quarantine.ts";
import { normalizer } from "./normalizer.ts";
import { protocolAudit } from "./protocol-audit.ts";
import { repeatUserPrompt } from "./repeat-user-prompt.ts";
import { sharedSignatures } from "./shared-signatures.ts";
import { signatureSensor } from "./signature-sensor.ts";
import { signedIdentities } from "./signed-identities.ts";
import { spotlighting } from "./spotlighting.ts";
import { toolAllowlist } from "./tool-allowlist.ts";
import { toolFilter } from "./tool-filter.ts";
import { typedProtocol } from "./typed-protocol.ts";
import { vaccine } from "./vaccine.ts";

/** Builds a layer from its parameters (validated by the factory; bad ones throw). */
export type DefenseFactory = (params?: unknown) => Defense;

/** Every built-in layer, by id, in tower order. Add a layer here to make it usable in configuration files. */
export const BUILTIN_DEFENSES: ReadonlyMap<string, DefenseFactory> = new Map<string, DefenseFactory>([
  ["hardened-prompt", hardenedPrompt],
  ["repeat-user-prompt", repeatUserPrompt],
  ["signed-identities", signedIdentities],
  ["tool-allowlist", toolAllowlist],
  ["tool-filter", toolFilter],
  ["argument-constraints", argumentConstraints],
  ["information-flow", informationFlow],
  ["memory-quarantine", memoryQuarantine],
  ["typed-protocol", typedProtocol],
  ["capability-gate", capabilityGate],
  ["normalizer", normalizer],
  ["signature-sensor", signatureSensor],
  ["spotlighting", spotlighting],
  ["argument-verifier", argumentVerifier],
  ["vaccine", vaccine],
  ["goal-consistency", goalConsistency],
  ["masked-reexecution", maskedReexecution],
  ["protocol-audit", protocolAudit],
  ["agent-quarantine", agentQuarantine],
  ["shared-signatures", sharedSignatures],
]);

export interface DefenseInfo {
  readonly id: string;
  readonly layer: Layer;
  readonly description: string;
  readonly hooks: readonly string[];
}

/** Builds a layer: a built-in by id, or a loaded `module:`/`http:` layer (`base`: the configuration file's folder). */
export function createDefense(id: string, params: unknown, where: string, base = process.cwd(), sandbox: SandboxOptions = {}): Defense {
  if (!id.startsWith(MODULE) && (sandbox.network !== undefined || sandbox.timeout_ms !== undefined)) {
    throw new DefenseConfigError(`${where}: "network" and "timeout_ms" set the sandbox of a module: layer, not of "${id}"`);
  }
  const external = isExternal(id) ? externalFactory(id, base, where, sandbox) : null;
  const factory = external?.factory ?? BUILTIN_DEFENSES.get(id);
  if (!factory) {
    throw new DefenseConfigError(`${where}: unknown defense layer "${id}". Valid layers: ${[...BUILTIN_DEFENSES.keys()].join(", ")}, or module:PATH, or http:URL`);
  }
  try {
    const defense = factory(params ?? {});
    return external ? { ...defense, source: external.source, ...(external.network && { network: true }) } : defense;
  } catch (error) {
    if (error instanceof DefenseConfigError) throw error;
    throw new DefenseConfigError(`${where}: invalid params for "${id}": ${paramProblems(error).join("; ")}`);
  }
}

/** A factory's error as one line per bad parameter: `params.name: message` for zod's issues. */
function paramProblems(error: unknown): string[] {
  if (error instanceof ZodError) return error.issues.map((i) => `params${i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")}: ${i.message}`);
  return [error instanceof Error ? error.message.split("\n")[0]! : String(error)];
}

export function hooksOf(defense: Defense): string[] {
  const names: string[] = HOOK_NAMES.filter((h: HookName) => defense.hooks[h] !== undefined);
  if (defense.hooks.systemPrompt) names.push("systemPrompt");
  return names;
}

/** Parameters for listing the layers that cannot be built without some (configurations give the real ones). */
const LISTING_PARAMS: Readonly<Record<string, unknown>> = {
  vaccine: { artifact: "defenses/vaccines/artifacts/exact-signatures-seen.json" },
};

export function describeBuiltins(): DefenseInfo[] {
  return [...BUILTIN_DEFENSES.entries()].map(([id, factory]) => {
    const defense = factory(LISTING_PARAMS[id] ?? {});
    return { id: defense.id, layer: defense.layer, description: defense.description, hooks: hooksOf(defense) };
  });
}
