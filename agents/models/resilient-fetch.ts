import { setTimeout as sleep } from "node:timers/promises";

/** How a request to a model endpoint is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** Per attempt, until the whole response body has arrived. */
  readonly timeoutMs: number;
  /** Backoff before retry n is up to `baseDelayMs · 2ⁿ` (capped at `maxDelayMs`), half of it random. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 6, timeoutMs: 120_000, baseDelayMs: 500, maxDelayMs: 30_000 };

/** What the requests of a run met: written to the manifest, so no failure goes unaccounted. */
export interface RequestStats {
  /** Requests made (each may take several attempts). */
  requests: number;
  attempts: number;
  /** Attempts that failed and were tried again. */
  retried: number;
  /** Requests that failed on every attempt: their episodes are errors. */
  failed: number;
  /** Failed attempts by cause: `http_429`, `http_500`, …, `timeout`, `connection`. */
  by_cause: Record<string, number>;
}

export const emptyRequestStats = (): RequestStats => ({ requests: 0, attempts: 0, retried: 0, failed: 0, by_cause: {} });

export function addRequestStats(into: RequestStats, more: RequestStats): RequestStats {
  into.requests += more.requests;
  into.attempts += more.attempts;
  into.retried += more.retried;
  into.failed += more.failed;
  for (const [cause, n] of Object.entries(more.by_cause)) into.by_cause[cause] = (into.by_cause[cause] ?? 0) + n;
  return into;
}

/** Overloaded, rate-limited or failing servers: worth another try. Other 4xx are the request's fault. */
const retriable = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/** `retry-after-ms` (OpenAI) or `retry-after` in seconds, when the server says how long to wait. */
function retryAfterMs(headers: Headers, cap: number): number | null {
  const ms = Number(headers.get("retry-after-ms"));
  if (headers.has("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return Math.min(ms, cap);
  const seconds = Number(headers.get("retry-after"));
  if (headers.has("retry-after") && Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, cap);
  return null;
}

/**
 * A `fetch` for the OpenAI client that retries 408/409/429/5xx answers, timeouts and dropped connections with
 * exponential backoff and jitter (or the server's `retry-after`), and counts every failure in `stats`. The body is
 * read inside the attempt, so a connection dropped mid-answer is retried too. A caller's own abort is not retried.
 */
export function resilientFetch(policy: RetryPolicy, stats: RequestStats, random: () => number = Math.random): typeof fetch {
  return async (input, init) => {
    stats.requests++;
    for (let attempt = 0; ; attempt++) {
      stats.attempts++;
      const timeout = AbortSignal.timeout(policy.timeoutMs);
      const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      let cause: string;
      let wait: number | null = null;
      let giveUp: () => Response;
      try {
        // Which attempt this is, as OpenAI's own SDK says in x-stainless-retry-count: a server can count retries.
        const headers = new Headers(init?.headers);
        headers.set("x-anis-attempt", String(attempt));
        const response = await fetch(input, { ...init, headers, signal });
        const body = await response.arrayBuffer();
        const copy = () => new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
        if (!retriable(response.status)) {
          // A refusal that no retry mends (a bad key, no permission, no such model) fails the request at once.
          if (response.status >= 400) {
            stats.by_cause[`http_${response.status}`] = (stats.by_cause[`http_${response.status}`] ?? 0) + 1;
            stats.failed++;
          }
          return copy();
        }
        cause = `http_${response.status}`;
        wait = retryAfterMs(response.headers, policy.maxDelayMs);
        giveUp = copy;
      } catch (error) {
        if (init?.signal?.aborted) throw error;
        cause = timeout.aborted ? "timeout" : "connection";
        giveUp = () => {
          throw error;
        };
      }
      stats.by_cause[cause] = (stats.by_cause[cause] ?? 0) + 1;
      if (attempt >= policy.maxRetries) {
        stats.failed++;
        return giveUp();
      }
      stats.retried++;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(wait ?? ceiling / 2 + (random() * ceiling) / 2, undefined, { signal: init?.signal ?? undefined });
    }
  };
}
