import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";
import { HOOK_NAMES, type HookName, LAYERS } from "../types.ts";
import type { FromSandbox, SandboxScope, ToSandbox } from "./protocol.ts";

/**
 * The process a module layer runs in (bundled with the layer by `bundle.ts`, started by `client.ts`). Node's
 * permission model confines it to reading its own folder, with no child processes, workers or native bindings; the
 * network is cut here unless the configuration allowed it. It answers hook calls over the IPC channel.
 */

type Factory = (params: unknown) => unknown;
type AnyHook = (...args: unknown[]) => unknown;

/** Node 20's permission model has no network switch: every way out of the process is replaced before the layer loads. */
export function cutNetwork(): void {
  const refuse = (what: string) => () => {
    throw Object.assign(new Error(`${what}: this layer runs without network access (allow it in the configuration: "network": true)`), { code: "ERR_ACCESS_DENIED" });
  };
  const replace = (target: object, key: string, what: string) => Object.defineProperty(target, key, { value: refuse(what), writable: false, configurable: false });
  replace(net.Socket.prototype, "connect", "net.Socket.connect");
  replace(net.Server.prototype, "listen", "net.Server.listen");
  replace(dgram.Socket.prototype, "bind", "dgram.Socket.bind");
  replace(dgram.Socket.prototype, "send", "dgram.Socket.send");
  for (const name of ["lookup", "resolve", "resolve4", "resolve6"]) replace(dns, name, `dns.${name}`);
  for (const name of ["fetch", "WebSocket", "EventSource"]) {
    if (name in globalThis) Object.defineProperty(globalThis, name, { value: refuse(name), writable: false, configurable: false });
  }
}

const deepFreeze = <T>(value: T): T => {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
};

/** Per-episode state of the layers, kept for the most recent episodes (the parent does not say when one ends). */
const EPISODES_KEPT = 512;
const states = new Map<string, Map<string, unknown>>();
const stateOf = (episodeId: string) => {
  let state = states.get(episodeId);
  if (!state) {
    state = new Map();
    states.set(episodeId, state);
    if (states.size > EPISODES_KEPT) states.delete(states.keys().next().value!);
  }
  return state;
};

const send = (message: FromSandbox) => process.send!(message);
const replays = new Map<number, { resolve: (calls: unknown) => void; reject: (error: Error) => void }>();
let replaySeq = 0;

function scopeOf(data: SandboxScope, call: number) {
  const state = stateOf(data.episodeId);
  return deepFreeze({
    episodeId: data.episodeId,
    agent: data.agent,
    userPrompt: data.userPrompt,
    user: data.user,
    system: data.system,
    tools: data.tools,
    state<T>(defenseId: string, init: () => T): T {
      if (!state.has(defenseId)) state.set(defenseId, init());
      return state.get(defenseId) as T;
    },
    alerts: () => data.alerts,
    ...(data.canReplay && {
      replay: (request: string) =>
        new Promise((resolve, reject) => {
          const id = replaySeq++;
          replays.set(id, { resolve, reject });
          send({ kind: "replay", call, id, request });
        }),
    }),
  });
}

/** The factory's layer, checked for the `Defense` shape: every problem named at load, not found out mid-episode. */
function describe(layer: unknown): { layer: Record<string, unknown>; problems: string[] } {
  const d = layer as Record<string, unknown> | null;
  if (!d || typeof d !== "object") return { layer: {}, problems: [`the factory returned ${JSON.stringify(layer)}, not a Defense`] };
  const problems: string[] = [];
  if (typeof d.id !== "string" || d.id.length === 0) problems.push("id is not a string");
  if (!LAYERS.includes(d.layer as never)) problems.push(`layer is not one of ${LAYERS.join(", ")}`);
  if (typeof d.version !== "string") problems.push("version is not a string");
  if (typeof d.description !== "string") problems.push("description is not a string");
  if (!d.hooks || typeof d.hooks !== "object") problems.push("hooks is not an object");
  else {
    for (const [name, hook] of Object.entries(d.hooks)) {
      if (name !== "systemPrompt" && name !== "offersTool" && !HOOK_NAMES.includes(name as HookName)) problems.push(`hooks.${name} is not a hook (hooks: ${HOOK_NAMES.join(", ")}, systemPrompt, offersTool)`);
      else if (typeof hook !== "function") problems.push(`hooks.${name} is not a function`);
    }
  }
  try {
    JSON.stringify(d.params ?? {});
  } catch {
    problems.push("params is not plain data");
  }
  return { layer: d, problems };
}

/** Loads the layer's module (the bundle's entry says how) and starts answering the parent. */
export async function serve(load: () => Promise<Record<string, unknown>>): Promise<void> {
  let exports: Record<string, unknown> = {};
  let loadError: string | null = null;
  try {
    exports = await load();
  } catch (error) {
    loadError = `it does not load: ${String((error as Error)?.message ?? error).split("\n")[0]}`;
  }
  const factory = (exports.default ?? exports.createDefense) as Factory | undefined;
  const instances = new Map<number, Record<string, unknown>>();
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (message: ToSandbox) => {
    switch (message.kind) {
      case "create": {
        if (loadError) return send({ kind: "failed", call: message.call, message: loadError });
        if (typeof factory !== "function") return send({ kind: "failed", call: message.call, message: "it exports no factory: export default (params) => Defense, or export createDefense" });
        try {
          const { layer, problems } = describe(factory(deepFreeze(message.params)));
          if (problems.length > 0) return send({ kind: "failed", call: message.call, message: `the factory's layer is not a Defense: ${problems.join("; ")}` });
          instances.set(message.instance, layer);
          const hooks = Object.keys(layer.hooks as object);
          const params = JSON.parse(JSON.stringify(layer.params ?? {})) as Record<string, unknown>;
          const trainedOn = Array.isArray(layer.trainedOn) ? layer.trainedOn.map(String) : undefined;
          return send({ kind: "created", call: message.call, id: layer.id as string, layer: layer.layer as string, version: layer.version as string, description: layer.description as string, params, hooks, ...(trainedOn && { trainedOn }) });
        } catch (error) {
          return send({ kind: "failed", call: message.call, message: `the factory threw: ${(error as Error)?.message ?? String(error)}` });
        }
      }
      case "hook": {
        const hooks = instances.get(message.instance)?.hooks as Record<string, AnyHook> | undefined;
        try {
          const scope = scopeOf(message.scope, message.call);
          const subject = deepFreeze(message.subject);
          const hook = hooks?.[message.hook];
          if (!hook) throw new Error(`no hook ${message.hook}`);
          const value = await (message.hook === "systemPrompt" ? hook(scope) : hook(subject, scope));
          return send({ kind: "answer", call: message.call, value: value === undefined ? null : value });
        } catch (error) {
          return send({ kind: "failed", call: message.call, message: (error as Error)?.message ?? String(error) });
        }
      }
      case "replayed": {
        const waiting = replays.get(message.id);
        replays.delete(message.id);
        if (message.error !== undefined) waiting?.reject(new Error(message.error));
        else waiting?.resolve(deepFreeze(message.calls));
      }
    }
  });
  send({ kind: "ready" });
}
