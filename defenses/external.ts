import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { DefenseConfigError } from "./errors.ts";
import { forbiddenImports } from "./import-graph.ts";
import { bundleModule } from "./sandbox/bundle.ts";
import { type Created, SandboxedModule } from "./sandbox/client.ts";
import { HOOK_DEADLINE_MS } from "./stack.ts";
import { type Defense, HOOK_NAMES, type HookName, type HookScope, LAYERS, type Verdict } from "./types.ts";

/**
 * Layers from outside the repository. A configuration names them in `use`:
 * - `module:PATH` — a TypeScript or JavaScript module (path relative to the configuration file) whose default export
 *   (or `createDefense` export) is a factory `(params) => Defense`; it runs sandboxed in a process of its own, and
 *   is refused when its imports reach the simulated model, attack metadata or the benchmark, as a built-in layer
 *   would be;
 * - `http:URL` — a service in any language: `GET URL` describes it, `POST URL` answers one hook call
 *   (`defenses/http-protocol.md`, schema `defenses/http-protocol.schema.json`).
 * Both are loaded before a run (`loadExternalLayers`), so that building a configuration stays synchronous.
 */
export const MODULE = "module:";
export const HTTP = "http:";
export const isExternal = (use: string) => use.startsWith(MODULE) || use.startsWith(HTTP);

type Factory = (params?: unknown) => Defense;
const loaded = new Map<string, { factory: Factory; source: string; network: boolean }>();

/** How a module layer's sandbox is set, from its configuration entry. */
export interface SandboxOptions {
  /** Whether its process may use the network (recorded in the manifest and said by `report`). */
  readonly network?: boolean;
  /** How long one hook call may take before the layer's process is stopped (default {@link HOOK_DEADLINE_MS}). */
  readonly timeout_ms?: number;
}

/** The key of an external layer: the module's absolute path with its sandbox settings, or the service's URL. */
export function externalKey(use: string, base: string, options: SandboxOptions = {}): string {
  if (use.startsWith(MODULE)) {
    const path = use.slice(MODULE.length);
    return `${isAbsolute(path) ? path : resolve(base, path)}\u0000${options.network === true}\u0000${options.timeout_ms ?? HOOK_DEADLINE_MS}`;
  }
  return use.slice(HTTP.length);
}

/** A loaded external layer's factory and what identifies its code (a module's hash, a service's description). */
export function externalFactory(use: string, base: string, where: string, options: SandboxOptions = {}): { factory: Factory; source: string; network: boolean } {
  const found = loaded.get(externalKey(use, base, options));
  if (!found) throw new DefenseConfigError(`${where}: the layer "${use}" was not loaded: load external layers before building a configuration (loadExternalLayers)`);
  return found;
}

export interface ExternalUse {
  readonly use: string;
  readonly base: string;
  readonly where: string;
  readonly params?: unknown;
  readonly options?: SandboxOptions;
}

/** Loads every external layer of these `use`s (each with the folder its configuration file is in, and its params). */
export async function loadExternalLayers(uses: readonly ExternalUse[]): Promise<void> {
  const modules = new Map<string, ModuleLayers>();
  for (const { use, base, where, params, options = {} } of uses) {
    if (use.startsWith(HTTP)) {
      if (options.network !== undefined || options.timeout_ms !== undefined) throw new DefenseConfigError(`${where}: "network" and "timeout_ms" set a module layer's sandbox; a service says its timeout in its description`);
      const key = externalKey(use, base);
      // Each run starts with the service in service: one that was down for an earlier run may be back.
      breakers.delete(key);
      if (!loaded.has(key)) loaded.set(key, { ...(await describeService(key, where)), network: false });
      continue;
    }
    const key = externalKey(use, base, options);
    let layers = modules.get(key) ?? moduleLayers.get(key);
    if (!layers) {
      layers = await loadModule(key.split("\u0000")[0]!, options, where);
      moduleLayers.set(key, layers);
    }
    modules.set(key, layers);
    await layers.build(params ?? {}, where);
    loaded.set(key, { factory: layers.factory, source: layers.source, network: options.network === true });
  }
}

/** A module's process and the layers its factory built there, one per distinct `params`. */
interface ModuleLayers {
  readonly source: string;
  build(params: unknown, where: string): Promise<void>;
  readonly factory: Factory;
}
const moduleLayers = new Map<string, ModuleLayers>();

/**
 * A module layer runs in a process of its own (`sandbox/`): it reads nothing but its folder and what each hook
 * call carries, cannot reach the network unless its configuration allows it, and a call that outlives its
 * deadline stops that process, not the run.
 */
async function loadModule(path: string, options: SandboxOptions, where: string): Promise<ModuleLayers> {
  if (!existsSync(path)) throw new DefenseConfigError(`${where}: module ${path} does not exist`);
  const forbidden = forbiddenImports(path);
  if (forbidden.length > 0) {
    throw new DefenseConfigError(`${where}: module ${path} is refused: a defense sees only what a deployment sees, and it imports ${forbidden.join(", ")}`);
  }
  const bundle = await bundleModule(path, options.network === true, where);
  const sandbox = new SandboxedModule(bundle, options.timeout_ms ?? HOOK_DEADLINE_MS);
  const built = new Map<string, Defense>();
  return {
    source: bundle.source,
    async build(params, where) {
      const key = JSON.stringify(params);
      if (built.has(key)) return;
      let made;
      try {
        made = await sandbox.create(params);
      } catch (error) {
        throw new DefenseConfigError(`${where}: module ${path}: ${(error as Error).message}`);
      }
      built.set(key, sandboxedLayer(sandbox, made.instance, made.created));
    },
    factory(params = {}) {
      const layer = built.get(JSON.stringify(params));
      if (!layer) throw new DefenseConfigError(`module ${path} was not loaded with params ${JSON.stringify(params)}: load external layers before building a configuration`);
      return layer;
    },
  };
}

/** The layer as the stack sees it: each hook a call into the sandbox, each answer checked as a service's is. */
function sandboxedLayer(sandbox: SandboxedModule, instance: number, created: Created): Defense {
  const hooks: Record<string, unknown> = {};
  for (const hook of created.hooks) {
    if (hook === "systemPrompt") {
      hooks.systemPrompt = async (scope: HookScope) => {
        const text = await sandbox.call(instance, hook, null, scope);
        if (text !== null && typeof text !== "string") throw new Error(`systemPrompt answered ${JSON.stringify(text)?.slice(0, 200)}, not a string`);
        return text ?? undefined;
      };
    } else if (hook === "offersTool") {
      hooks.offersTool = async (tool: unknown, scope: HookScope) => {
        const offered = await sandbox.call(instance, hook, tool, scope);
        if (typeof offered !== "boolean") throw new Error(`offersTool answered ${JSON.stringify(offered)?.slice(0, 200)}, not true or false`);
        return offered;
      };
    } else {
      hooks[hook] = async (subject: unknown, scope: HookScope) => checkedVerdict(await sandbox.call(instance, hook, subject, scope));
    }
  }
  return {
    id: created.id,
    layer: created.layer as Defense["layer"],
    version: created.version,
    description: created.description,
    params: created.params,
    hooks: hooks as Defense["hooks"],
    ...(created.trainedOn && { trainedOn: created.trainedOn }),
  };
}

function checkedVerdict(value: unknown): Verdict {
  const parsed = Answer.safeParse(value);
  if (!parsed.success) throw new Error(`answered no verdict: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return parsed.data as Verdict;
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
/** Consecutive failed calls after which a service is out for the rest of the run: each later call fails at once. */
export const BREAKER_FAILURES = 5;
/** The largest answer read from a service: a verdict's longest fields, escaped, with room to spare. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Per service, in this thread: consecutive failed calls, and the last failure. */
const breakers = new Map<string, { failures: number; last: string }>();

/**
 * A service's answer, read only while it is no larger than {@link MAX_ANSWER_BYTES} and never followed to another
 * address: a redirect would send every hook call, prompt and arguments included, wherever the service says.
 */
async function request(url: string, init: RequestInit): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, redirect: "manual" });
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new Error(`answered a redirect (${response.status} to ${response.headers.get("location") ?? "nowhere"}); redirects are not followed`);
  }
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    throw new Error(`answered ${declared} bytes, more than the ${MAX_ANSWER_BYTES} an answer may have`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += (chunk as Uint8Array).byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`answered more than the ${MAX_ANSWER_BYTES} bytes an answer may have`);
    }
    chunks.push(chunk as Uint8Array);
  }
  return { status: response.status, text: Buffer.concat(chunks).toString("utf8") };
}

const parseJson = (text: string) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`answered text that is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
  }
};

async function describeService(url: string, where: string): Promise<{ factory: Factory; source: string }> {
  let body: unknown;
  try {
    const response = await request(url, { signal: AbortSignal.timeout(5000) });
    if (response.status < 200 || response.status >= 300) throw new Error(`GET answered ${response.status}`);
    body = parseJson(response.text);
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
 * One hook call as one JSON request, retried after 5xx, 429 and lost connections within one deadline: the
 * service's `timeout_ms` bounds the call, retries included. A call that fails throws: the stack makes the episode a
 * `defense_error`, never a block. After {@link BREAKER_FAILURES} failed calls in a row the service is out: every
 * later call fails at once, so a dead service costs milliseconds per episode, not its deadline.
 */
async function callService(url: string, timeoutMs: number, hook: HookName, subject: unknown, scope: HookScope, params: unknown): Promise<Verdict> {
  const breaker = breakers.get(url) ?? { failures: 0, last: "" };
  breakers.set(url, breaker);
  if (breaker.failures >= BREAKER_FAILURES) throw new Error(`defense service ${url} is out of service for this run: ${breaker.failures} calls in a row failed (last: ${breaker.last})`);
  try {
    const verdict = await attemptService(url, timeoutMs, hook, subject, scope, params);
    breaker.failures = 0;
    return verdict;
  } catch (error) {
    breaker.failures++;
    breaker.last = (error as Error).message;
    throw error;
  }
}

async function attemptService(url: string, timeoutMs: number, hook: HookName, subject: unknown, scope: HookScope, params: unknown): Promise<Verdict> {
  const call: z.input<typeof Call> = {
    protocol: 1,
    hook,
    subject: subject as Record<string, unknown>,
    params: params as Record<string, unknown>,
    scope: { agent: scope.agent, user: scope.user, user_prompt: scope.userPrompt, system: scope.system as z.input<typeof Call>["scope"]["system"], tools: scope.tools as unknown as Record<string, unknown>[] },
  };
  const body = JSON.stringify(call);
  const deadline = AbortSignal.timeout(timeoutMs);
  let failure = "";
  for (let attempt = 0; attempt <= RETRIES && !deadline.aborted; attempt++) {
    try {
      const response = await request(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: deadline });
      if (response.status >= 500 || response.status === 429) {
        failure = `answered ${response.status}`;
        continue;
      }
      if (response.status < 200 || response.status >= 300) throw new Error(`answered ${response.status}: ${response.text.slice(0, 200)}`);
      const parsed = Answer.safeParse(parseJson(response.text));
      if (!parsed.success) throw new Error(`answered no verdict: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
      return parsed.data as Verdict;
    } catch (error) {
      const e = error as Error;
      if (e.name !== "TimeoutError" && !/fetch failed|terminated/.test(e.message)) throw new Error(`defense service ${url} ${e.message}`);
      failure = e.name === "TimeoutError" ? `gave no answer within ${timeoutMs} ms` : `is unreachable (${(e.cause as Error | undefined)?.message ?? e.message})`;
    }
  }
  throw new Error(`defense service ${url} ${failure || `gave no answer within ${timeoutMs} ms`} (retries included)`);
}
