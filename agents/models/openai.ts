import { ChatOpenAI } from "@langchain/openai";
import { type CacheMode, DiskResponseCache } from "./cache.ts";

export interface OpenAIEndpoint {
  /** Base URL of any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp); default: OpenAI's. */
  readonly baseURL?: string;
  readonly apiKey?: string;
  /** Per-request timeout in milliseconds. */
  readonly timeoutMs?: number;
  readonly maxRetries?: number;
  /** The response cache: requests answered before are read from it (and, in `readwrite`, new answers are kept). */
  readonly cache?: { readonly dir: string; readonly mode: CacheMode };
}

/** Resolves flags over environment variables (`OPENAI_BASE_URL`, `OPENAI_API_KEY`). */
export function resolveEndpoint(flags: OpenAIEndpoint, env: NodeJS.ProcessEnv = process.env): OpenAIEndpoint {
  return {
    baseURL: flags.baseURL ?? env.OPENAI_BASE_URL,
    apiKey: flags.apiKey ?? env.OPENAI_API_KEY,
    timeoutMs: flags.timeoutMs ?? 120_000,
    maxRetries: flags.maxRetries ?? 2,
    cache: flags.cache,
  };
}

/** A chat model on an OpenAI-compatible endpoint; temperature 0 so runs repeat as far as the server allows. */
export function createOpenAIModel(model: string, endpoint: OpenAIEndpoint): ChatOpenAI {
  return new ChatOpenAI({
    model,
    temperature: 0,
    apiKey: endpoint.apiKey ?? "unset",
    timeout: endpoint.timeoutMs,
    maxRetries: endpoint.maxRetries,
    configuration: endpoint.baseURL ? { baseURL: endpoint.baseURL } : {},
    cache: endpoint.cache && endpoint.cache.mode !== "off" ? new DiskResponseCache(endpoint.cache.dir, endpoint.cache.mode) : undefined,
  });
}

/**
 * Checks that the endpoint answers at all before a run starts, so an unreachable server is one clear message
 * rather than a run of errored episodes. Any HTTP answer counts as reachable (not every server lists models).
 */
export async function probeEndpoint(endpoint: OpenAIEndpoint, timeoutMs = 5000): Promise<string | null> {
  const base = (endpoint.baseURL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  try {
    await fetch(`${base}/models`, {
      headers: endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    return null;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return `cannot reach the OpenAI-compatible endpoint at ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}. Set --base-url or OPENAI_BASE_URL to a running server.`;
  }
}
