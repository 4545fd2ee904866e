import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { DefenseConfigError } from "./errors.ts";
import { forbiddenImports } from "./import-graph.ts";
import { type Defense, HOOK_NAMES, type HookName, type HookScope, LAYERS, type Verdict } from "./types.ts";

/**
 * Layers from outside the repository. A configuration names them in `use`:
 * - `module:PATH` — a TypeScript or JavaScript module (path relative to the configuration file) whose default export
 *   (or `createDefense` export) is a factory `(params) => Defense`; it is refused when its imports reach the
 *   simulated model, attack metadata or the benchmark, as a built-in layer would be;
 * - `http:URL` — a service in any language: `GET URL` describes it, `POST URL` answers one hook call
 *   (`defenses/http-protocol.md`, schema `defenses/http-protocol.schema.json`).
 * Both are loaded before a run (`loadExternalLayers`), so that building a configuration stays synchronous.
 */
export const MODULE = "module:";
export const HTTP = "http:";
export const isExternal = (use: string) => use.startsWith(MODULE) || use.startsWith(HTTP);

type Factory = (params?: unknown) => Defense;
const loaded = new Map<string, { factory: Factory; source: string }>();

/** The key of an external layer: the module's absolute path, or the service's URL. */
export function externalKey(use: string, base: string): string {
  if (use.startsWith(MODULE)) {
    const path = use.slice(MODULE.length);
    return isAbsolute(path) ? path : resolve(base, path);
  }
  return use.slice(HTTP.length);
}

/** A loaded external layer's factory and what identifies its code (a module's hash, a service's description). */
export function externalFactory(use: string, base: string, where: string): { factory: Factory; source: string } {
  const found = loaded.get(externalKey(use, base));
  if (!found) throw new DefenseConfigError(`${where}: the layer "${use}" was not loaded: load external layers before building a configuration (loadExternalLayers)`);
  return found;
}

/** Loads every external layer of these `use`s (each with the folder its configuration file is in). */
export async function loadExternalLayers(uses: readonly { readonly use: string; readonly base: string; readonly where: string }[]): Promise<void> {
  for (const { use, base, where } of uses) {
    const key = externalKey(use, base);
    if (loaded.has(key)) continue;
    loaded.set(key, use.startsWith(MODULE) ? await loadModule(key, where) : await describeService(key, where));
  }
}

async function loadModule(path: string, where: string): Promise<{ factory: Factory; source: string }> {
  if (!existsSync(path)) throw new DefenseConfigError(`${where}: module ${path} does not exist`);
  const forbidden = forbiddenImports(path);
  if (forbidden.length > 0) {
    throw new DefenseConfigError(`${where}: module ${path} is refused: a defense sees only what a deployment sees, and it imports ${forbidden.join(", ")}`);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new DefenseConfigError(`${where}: module ${path} does not load: ${(error as Error).message.split("\n")[0]}`);
  }
  const factory = (module.default ?? module.createDefense) as unknown;
  if (typeof factory !== "function") throw new DefenseConfigError(`${where}: module ${path} exports no factory: export default (params) => Defense, or export createDefense`);
  const source = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16);
  return { factory: (params) => checkedDefense((factory as Factory)(params ?? {}), `${where}: module ${path}`), source };
}

/** A module's layer must have the `Defense` shape: said by name, not found out mid-episode. */
function checkedDefense(value: unknown, where: string): Defense {
  const d = value as Partial<Defense> | null;
  const problems: string[] = [];
  if (!d || typeof d !== "object") throw new DefenseConfigError(`${where}: the factory returned ${JSON.stringify(value)}, not a Defense`);
  if (typeof d.id !== "string" || d.id.length === 0) problems.push("id is not a string");
  if (!LAYERS.includes(d.layer as never)) problems.push(`layer is not one of ${LAYERS.join(", ")}`);
  if (typeof d.version !== "string") problems.push("version is not a string");
  if (typeof d.description !== "string") problems.push("description is not a string");
  if (!d.hooks || typeof d.hooks !== "object") problems.push("hooks is not an object");
  else {
    for (const [name, hook] of Object.entries(d.hooks)) {
      if (name !== "systemPrompt" && !HOOK_NAMES.includes(name as HookName)) problems.push(`hooks.${name} is not a hook (hooks: ${HOOK_NAMES.join(", ")}, systemPrompt)`);
      else if (typeof hook !== "function") problems.push(`hooks.${name} is not a function`);
    }
  }
  if (problems.length > 0) throw new DefenseConfigError(`${where}: the factory's layer is not a Defense: ${problems.join("; ")}`);
  return { params: {}, ...d } as Defense;
}

/** What a service says about itself at `GET URL`. */
const Description = z.strictObject({
  protocol: z.literal(1),
  id: z.string().min(1).max(200),
  layer: z.enum(LAYERS),
  version: z.string().min(1).max(100),
  description: z.string().max(2000).default(""),
  hooks: z.array(z.enum(HOOK_NAMES as [HookName, ...HookName[]])).min(1),
  /** A fixed text added to every agent's system prompt, like the hardened-prompt layer's. */
  system_prompt: z.string().max(20_000).optional(),
  /** Per-call timeout the service needs, in milliseconds (default 5000, at most 60000). */
  timeout_ms: z.number().int().min(1).max(60_000).default(5000),
});

/** A verdict as a service returns it: the same object as a TypeScript layer's (`defenses/types.ts`). */
const Answer = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("allow") }),
  z.strictObject({ kind: z.literal("transform"), content: z.string().max(1_000_000), code: z.string().min(1).max(200), reason: z.string().max(2000), evidence: z.string().max(20_000).optional() }),
  z.strictObject({ kind: z.enum(["block", "quarantine", "ask_approval"]), code: z.string().min(1).max(200), reason: z.string().min(1).max(2000), evidence: z.string().max(20_000).optional() }),
]);

/** A hook call as the service receives it: the hook's subject as a TypeScript layer gets it, with the scope's facts. */
const Call = z.strictObject({
  protocol: z.literal(1),
  hook: z.enum(HOOK_NAMES as [HookName, ...HookName[]]),
  subject: z.record(z.string(), z.unknown()).describe("the hook's subject as defenses/types.ts defines it (HookSubjects)"),
  params: z.record(z.string(), z.unknown()),
  scope: z.strictObject({
    agent: z.string(),
    user: z.string(),
    user_prompt: z.string(),
    system: z.strictObject({ name: z.string(), agents: z.array(z.string()), protocol: z.enum(["delegation", "broadcast"]) }),
    tools: z.array(z.record(z.string(), z.unknown())),
  }),
});

/** The protocol's messages as JSON Schema (`defenses/http-protocol.schema.json` is this, written out). */
export function httpProtocolSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "ANIS Bench HTTP defense protocol, version 1 (defenses/http-protocol.md)",
    $defs: { description: z.toJSONSchema(Description, { io: "input" }), call: z.toJSONSchema(Call), verdict: z.toJSONSchema(Answer) },
  };
}

const RETRIES = 2;

async function describeService(url: string, where: string): Promise<{ factory: Factory; source: string }> {
  let body: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`GET answered ${response.status}`);
    body = await response.json();
  } catch (error) {
    throw new DefenseConfigError(`${where}: the defense service at ${url} does not describe itself: ${(error as Error).message}. It must answer GET ${url} (defenses/http-protocol.md)`);
  }
  const parsed = Description.safeParse(body);
  if (!parsed.success) throw new DefenseConfigError(`${where}: the defense service at ${url} describes itself wrongly: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  const info = parsed.data;
  const factory: Factory = (params = {}) => ({
    id: info.id,
    layer: info.layer,
    version: info.version,
    description: info.description,
    params: params as Record<string, unknown>,
    hooks: {
      ...Object.fromEntries(info.hooks.map((hook) => [hook, (subject: unknown, scope: HookScope) => callService(url, info.timeout_ms, hook, subject, scope, params)])),
      ...(info.system_prompt !== undefined && { systemPrompt: () => info.system_prompt }),
    },
  });
  return { factory, source: createHash("sha256").update(JSON.stringify(info)).digest("hex").slice(0, 16) };
}

/**
 * One hook call as one JSON request. A call that fails (no answer in time after retries, an error status, an answer
 * that is not a verdict) throws: the stack makes the episode a `defense_error`, never a block.
 */
async function callService(url: string, timeoutMs: number, hook: HookName, subject: unknown, scope: HookScope, params: unknown): Promise<Verdict> {
  const call: z.input<typeof Call> = {
    protocol: 1,
    hook,
    subject: subject as Record<string, unknown>,
    params: params as Record<string, unknown>,
    scope: { agent: scope.agent, user: scope.user, user_prompt: scope.userPrompt, system: scope.system as z.input<typeof Call>["scope"]["system"], tools: scope.tools as unknown as Record<string, unknown>[] },
  };
  const request = JSON.stringify(call);
  let failure = "";
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    try {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: request, signal: AbortSignal.timeout(timeoutMs) });
      if (response.status >= 500 || response.status === 429) {
        failure = `answered ${response.status}`;
        continue;
      }
      if (!response.ok) throw new Error(`answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
      const parsed = Answer.safeParse(await response.json());
      if (!parsed.success) throw new Error(`answered no verdict: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
      return parsed.data as Verdict;
    } catch (error) {
      const e = error as Error;
      if (e.name !== "TimeoutError" && !/fetch failed/.test(e.message)) throw new Error(`defense service ${url} ${e.message}`);
      failure = e.name === "TimeoutError" ? `gave no answer within ${timeoutMs} ms` : `is unreachable (${(e.cause as Error | undefined)?.message ?? e.message})`;
    }
  }
  throw new Error(`defense service ${url} ${failure} (${RETRIES + 1} attempts)`);
}
