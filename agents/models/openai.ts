import { ChatOpenAI } from "@langchain/openai";
import { type CacheMode, DiskResponseCache } from "./cache.ts";
import { DEFAULT_RETRY_POLICY, type RequestStats, resilientFetch, type RetryPolicy } from "./resilient-fetch.ts";

export interface OpenAIEndpoint {
  /** Base URL of any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp); default: OpenAI's. */
  readonly baseURL?: string;
  readonly apiKey?: string;
  /** Per-attempt timeout in milliseconds. */
  readonly timeoutMs?: number;
  /** Retries after a failed attempt (429, 5xx, timeout, dropped connection). */
  readonly maxRetries?: number;
  /** First backoff delay; it doubles per retry, half of it random (jitter). */
  readonly retryBaseDelayMs?: number;
  /** The response cache: requests answered before are read from it (and, in `readwrite`, new answers are kept). */
  readonly cache?: { readonly dir: string; readonly mode: CacheMode };
}

/** Resolves flags over environment variables (`OPENAI_BASE_URL`, `OPENAI_API_KEY`). */
export function resolveEndpoint(flags: OpenAIEndpoint, env: NodeJS.ProcessEnv = process.env): OpenAIEndpoint {
  return {
    baseURL: flags.baseURL ?? env.OPENAI_BASE_URL,
    apiKey: flags.apiKey ?? env.OPENAI_API_KEY,
    timeoutMs: flags.timeoutMs ?? DEFAULT_RETRY_POLICY.timeoutMs,
    maxRetries: flags.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    retryBaseDelayMs: flags.retryBaseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    cache: flags.cache,
  };
}

export function retryPolicyOf(endpoint: OpenAIEndpoint): RetryPolicy {
  return {
    maxRetries: endpoint.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    timeoutMs: endpoint.timeoutMs ?? DEFAULT_RETRY_POLICY.timeoutMs,
    baseDelayMs: endpoint.retryBaseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
  };
}

/**
 * A chat model on an OpenAI-compatible endpoint; temperature 0 so runs repeat as far as the server allows.
 * Retries are ours ({@link resilientFetch}, counted in `stats`), so LangChain's and the SDK's are off.
 */
export function createOpenAIModel(model: string, endpoint: OpenAIEndpoint, stats: RequestStats): ChatOpenAI {
  silenceUpgradeAdvice();
  const policy = retryPolicyOf(endpoint);
  return new ChatOpenAI({
    model,
    temperature: 0,
    apiKey: endpoint.apiKey ?? "unset",
    // The client's own deadline covers every attempt and wait: the per-attempt timeout is the fetch's.
    timeout: (policy.timeoutMs + policy.maxDelayMs) * (policy.maxRetries + 1),
    maxRetries: 0,
    configuration: { ...(endpoint.baseURL && { baseURL: endpoint.baseURL }), fetch: resilientFetch(policy, stats) },
    cache: endpoint.cache && endpoint.cache.mode !== "off" ? new DiskResponseCache(endpoint.cache.dir, endpoint.cache.mode) : undefined,
  });
}

/**
 * LangChain's message class advises "pnpm install @langchain/anthropic … @langchain/openai" on the console whenever a
 * server's tool calls are all malformed (@langchain/openai then sets none): wrong advice, repeated per call. The
 * episode already reports the malformed call as a model error, so that one warning, matched whole, is not printed.
 */
const UPGRADE_ADVICE = "New LangChain packages are available that more efficiently handle tool calling.";
let adviceSilenced = false;
function silenceUpgradeAdvice(): void {
  if (adviceSilenced) return;
  adviceSilenced = true;
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (args.length === 1 && typeof args[0] === "string" && args[0].startsWith(UPGRADE_ADVICE) && args[0].includes("pnpm install @langchain/openai")) return;
    warn.apply(console, args);
  };
}

/**
 * Checks that the endpoint answers at all before a run starts, so an unreachable server is one clear message
 * rather than a run of errored episodes. Any HTTP answer counts as reachable (not every server lists models).
 */
export async function probeEndpoint(endpoint: OpenAIEndpoint, models: readonly string[] = [], timeoutMs = 5000): Promise<string | null> {
  const base = (endpoint.baseURL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  let response: Response;
  try {
    response = await fetch(`${base}/models`, {
      headers: endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return `cannot reach the OpenAI-compatible endpoint at ${base}: ${cause?.code ?? cause?.message ?? (error as Error).message}. Set --base-url or OPENAI_BASE_URL to a running server.`;
  }
  // Refusals no retry mends stop the run here, before any episode is spent on them.
  if (response.status === 401) return `the endpoint at ${base} refused the API key (401 Unauthorized): set --api-key or OPENAI_API_KEY to a valid key`;
  if (response.status === 403) return `the endpoint at ${base} denied access (403 Forbidden): the API key lacks permission for this endpoint`;
  if (!response.ok) return null;
  // A server that lists its models must list the ones asked for (a 404 "model not found" on every request otherwise).
  const listed = await response
    .json()
    .then((body: { data?: { id?: unknown }[] }) => (Array.isArray(body?.data) ? body.data.map((m) => m?.id).filter((id): id is string => typeof id === "string") : []))
    .catch(() => [] as string[]);
  const missing = models.filter((m) => listed.length > 0 && !listed.includes(m));
  return missing.length > 0 ? `the endpoint at ${base} does not serve ${missing.join(", ")} (404 model not found); it serves: ${listed.join(", ")}` : null;
}
