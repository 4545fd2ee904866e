import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BaseCache, deserializeStoredGeneration, serializeGeneration } from "@langchain/core/caches";
import type { Generation } from "@langchain/core/outputs";
import type { BaseMessage } from "@langchain/core/messages";

export const CACHE_MODES = ["off", "read", "readwrite"] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

/** Marks, in a message's `response_metadata`, an answer read from the cache, so the episode counts it as not paid for. */
export const CACHE_HIT = "anis_cache_hit";

/**
 * LangChain's key for a model names its parameters as `name:JSON` pairs, the API key among them. A key is a
 * credential, not part of the request: a rotated key must find the answers an old one paid for.
 */
export const withoutSecrets = (llmKey: string) => llmKey.replace(/(^|,)(apiKey|openAIApiKey|azureOpenAIApiKey|organization):"(?:[^"\\]|\\.)*"/g, "");

/**
 * A content-addressed response cache on disk: the key is the SHA-256 of the request (every message, the endpoint,
 * the model and its call parameters — tools, temperature, seed — as LangChain serialises them, never the API key),
 * the value the response's generations. A request answered once is never paid for again, and a cached rerun gives the same responses.
 * `read` uses what is there and adds nothing; writes go to a temporary file renamed into place, so a killed run
 * leaves no torn entry.
 */
export class DiskResponseCache extends BaseCache<Generation[]> {
  constructor(
    private readonly dir: string,
    private readonly mode: Exclude<CacheMode, "off">,
  ) {
    super();
  }

  private file(prompt: string, llmKey: string): string {
    const key = createHash("sha256").update(`${withoutSecrets(llmKey)}\u0000${prompt}`).digest("hex");
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /**
   * The cached answer, or null. An entry that does not read back as generations (truncated, edited, from another
   * version) is a miss: the request is made again and, in `readwrite`, the entry rewritten.
   */
  async lookup(prompt: string, llmKey: string): Promise<Generation[] | null> {
    const file = this.file(prompt, llmKey);
    if (!existsSync(file)) return null;
    try {
      const stored = JSON.parse(readFileSync(file, "utf8")) as ReturnType<typeof serializeGeneration>[];
      if (!Array.isArray(stored) || stored.length === 0) return null;
      return stored.map((g) => {
        const generation = deserializeStoredGeneration(g) as Generation & { message?: BaseMessage };
        if (typeof generation?.text !== "string") throw new Error("not a generation");
        if (generation.message) generation.message.response_metadata = { ...generation.message.response_metadata, [CACHE_HIT]: true };
        return generation;
      });
    } catch {
      return null;
    }
  }

  async update(prompt: string, llmKey: string, value: Generation[]): Promise<void> {
    if (this.mode !== "readwrite") return;
    const file = this.file(prompt, llmKey);
    mkdirSync(join(file, ".."), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(value.map(serializeGeneration)));
    renameSync(temporary, file);
  }
}
