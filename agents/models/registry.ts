import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { type SimPayload, type SimTask, SimulatedChatModel } from "./sim/model.ts";
import { SIM_PROFILES } from "./sim/profiles.ts";
import { type OpenAIEndpoint, createOpenAIModel } from "./openai.ts";

/** An unknown or malformed model name. `code = "bad_input"` is the contract the CLI reads to exit with 2. */
export class ModelNameError extends Error {
  readonly code = "bad_input";
  constructor(name: string) {
    super(`unknown model "${name}". Valid models: ${validModelNames().join(", ")}`);
    this.name = "ModelNameError";
  }
}

export function validModelNames(): string[] {
  return [...[...SIM_PROFILES.keys()].map((p) => `sim:${p}`), "openai:NAME"];
}

/** What an episode gives the model besides its messages. */
export interface EpisodeModelInput {
  readonly seed: number;
  readonly payloads: readonly SimPayload[];
}

/** A resolved model: the chat model, what the manifest records, and its per-episode call options. */
export interface ModelHandle {
  readonly name: string;
  readonly kind: "sim" | "openai";
  readonly chat: BaseChatModel;
  readonly params: Record<string, unknown>;
  callOptions(episode: EpisodeModelInput): Record<string, unknown>;
}

export interface ModelDeps {
  /** The task registry the simulated model reads. */
  readonly tasks: readonly SimTask[];
  readonly endpoint: OpenAIEndpoint;
}

export function resolveModel(name: string, deps: ModelDeps): ModelHandle {
  const [kind, rest] = splitName(name);
  if (kind === "sim") {
    const profile = SIM_PROFILES.get(rest);
    if (!profile) throw new ModelNameError(name);
    return {
      name,
      kind,
      chat: new SimulatedChatModel({ profile, tasks: deps.tasks }),
      params: { profile: profile.name },
      callOptions: ({ seed, payloads }) => ({ seed, payloads }),
    };
  }
  if (kind === "openai" && rest.length > 0) {
    return {
      name,
      kind,
      chat: createOpenAIModel(rest, deps.endpoint),
      params: { model: rest, base_url: deps.endpoint.baseURL ?? "https://api.openai.com/v1", temperature: 0 },
      callOptions: ({ seed }) => ({ seed }),
    };
  }
  throw new ModelNameError(name);
}

/** Checks a name without building anything. */
export function checkModelName(name: string): void {
  const [kind, rest] = splitName(name);
  if (kind === "sim" && SIM_PROFILES.has(rest)) return;
  if (kind === "openai" && rest.length > 0) return;
  throw new ModelNameError(name);
}

function splitName(name: string): [string, string] {
  const i = name.indexOf(":");
  return i < 0 ? [name, ""] : [name.slice(0, i), name.slice(i + 1)];
}
