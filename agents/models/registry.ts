import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { type SimPayload, type SimTask, SimulatedChatModel } from "./sim/model.ts";
import { createHash } from "node:crypto";
import { loadProfile, SIM_PROFILES, type SimProfile } from "./sim/profiles.ts";
import { loadVaccineArtifact } from "../../defenses/vaccines/artifact.ts";
import { textRecognizer } from "../../defenses/vaccines/index.ts";
import { type OpenAIEndpoint, createOpenAIModel } from "./openai.ts";
import type { ModelPrice, Prices } from "./prices.ts";
import { emptyRequestStats, type RequestStats } from "./resilient-fetch.ts";

/** An unknown or malformed model name. `code = "bad_input"` is the contract the CLI reads to exit with 2. */
export class ModelNameError extends Error {
  readonly code = "bad_input";
  constructor(name: string) {
    super(`unknown model "${name}". Valid models: ${validModelNames().join(", ")}`);
    this.name = "ModelNameError";
  }
}

export function validModelNames(): string[] {
  return [...[...SIM_PROFILES.keys()].map((p) => `sim:${p}`), `sim:${PROFILE_FILE}FILE`, "openai:NAME", `…${VACCINATED}ARTIFACT`];
}

/** `sim:profile=FILE`: a simulated model whose profile is a file (one `anis calibrate` wrote, or one of your own). */
const PROFILE_FILE = "profile=";

/** The profile a `sim:` name means; a profile file's problems are one message naming the file. */
function simProfileOf(rest: string, name: string): SimProfile {
  if (rest.startsWith(PROFILE_FILE)) return loadProfile(rest.slice(PROFILE_FILE.length));
  const profile = SIM_PROFILES.get(rest);
  if (!profile) throw new ModelNameError(name);
  return profile;
}

/**
 * A vaccinated model: `sim:PROFILE+vaccine=ARTIFACT.json` applies a text vaccine inside the simulated model (a
 * parametric vaccine); `openai:NAME+vaccine=LABEL` names an endpoint serving a model vaccinated elsewhere (a
 * fine-tune), recorded in the manifest; the request goes to NAME.
 */
const VACCINATED = "+vaccine=";

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
  /** US dollars per million tokens, when the prices configuration knows the model. */
  readonly price: ModelPrice | null;
  /** What this model's requests met (retries, failures by cause); null for the simulated model. */
  readonly requests: RequestStats | null;
  callOptions(episode: EpisodeModelInput): Record<string, unknown>;
}

export interface ModelDeps {
  /** The task registry the simulated model reads. */
  readonly tasks: readonly SimTask[];
  readonly endpoint: OpenAIEndpoint;
  readonly prices?: Prices;
}

export function resolveModel(name: string, deps: ModelDeps): ModelHandle {
  const [base, vaccine] = splitVaccine(name);
  const [kind, rest] = splitName(base);
  if (kind === "sim") {
    const profile = simProfileOf(rest, name);
    const artifact = vaccine === null ? null : loadVaccineArtifact(vaccine);
    return {
      name,
      kind,
      chat: new SimulatedChatModel({ profile, tasks: deps.tasks, resistance: artifact ? textRecognizer(artifact) : undefined }),
      params: {
        profile: profile.name,
        // The profile's content, so that a re-fitted profile of the same name is a different model in the manifest.
        profile_sha256: createHash("sha256").update(JSON.stringify(profile.file)).digest("hex"),
        ...(rest.startsWith(PROFILE_FILE) && { profile_file: rest.slice(PROFILE_FILE.length) }),
        ...(artifact && { vaccine: { artifact: vaccine, vaccinator: artifact.vaccinator, trained_on: artifact.trained_on } }),
      },
      price: null,
      requests: null,
      callOptions: ({ seed, payloads }) => ({ seed, payloads }),
    };
  }
  if (kind === "openai" && rest.length > 0) {
    const requests = emptyRequestStats();
    const price = deps.prices?.models[rest] ?? null;
    return {
      name,
      kind,
      chat: createOpenAIModel(rest, deps.endpoint, requests),
      params: {
        model: rest,
        base_url: deps.endpoint.baseURL ?? "https://api.openai.com/v1",
        temperature: 0,
        ...(vaccine !== null && { vaccinated: vaccine }),
        price: price && { ...price, as_of: deps.prices!.as_of, file: deps.prices!.file },
      },
      price,
      requests,
      callOptions: ({ seed }) => ({ seed }),
    };
  }
  throw new ModelNameError(name);
}

function splitVaccine(name: string): [string, string | null] {
  const i = name.indexOf(VACCINATED);
  return i < 0 ? [name, null] : [name.slice(0, i), name.slice(i + VACCINATED.length)];
}

/** Checks a name without building anything. */
export function checkModelName(name: string): void {
  const [base, vaccine] = splitVaccine(name);
  if (vaccine === "") throw new ModelNameError(name);
  const [kind, rest] = splitName(base);
  if (kind === "sim" && SIM_PROFILES.has(rest)) return;
  if (kind === "sim" && rest.startsWith(PROFILE_FILE)) {
    loadProfile(rest.slice(PROFILE_FILE.length));
    return;
  }
  if (kind === "openai" && rest.length > 0) return;
  throw new ModelNameError(name);
}

function splitName(name: string): [string, string] {
  const i = name.indexOf(":");
  return i < 0 ? [name, ""] : [name.slice(0, i), name.slice(i + 1)];
}
