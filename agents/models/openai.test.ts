import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEpisode } from "../test-support.ts";
import { probeEndpoint, resolveEndpoint } from "./openai.ts";
import { resolveModel } from "./registry.ts";

interface ChatRequest {
  model: string;
  seed?: number;
  messages: { role: string; content: string | null; tool_call_id?: string; tool_calls?: { id: string; function: { name: string; arguments: string } }[] }[];
  tools?: { type: string; function: { name: string; parameters: Record<string, unknown> } }[];
}

/** A chat-completions server that plays a scripted agent: browse, then note what the page said, then answer. */
function scriptedAgent(request: ChatRequest) {
  const tools = request.messages.filter((m) => m.role === "tool");
  const call = (name: string, args: Record<string, unknown>) => ({
    role: "assistant",
    content: null,
    tool_calls: [{ id: `call_${tools.length}`, type: "function", function: { name, arguments: JSON.stringify(args) } }],
  });
  if (tools.length === 0) return call("browse", { url: "https://a.example" });
  if (tools.length === 1) return call("write_note", { text: `Page says: ${tools[0]!.content}` });
  return { role: "assistant", content: "Noted." };
}

describe("openai: adapter against a real OpenAI-compatible HTTP server on 127.0.0.1", () => {
  let server: Server;
  let baseURL: string;
  const requests: ChatRequest[] = [];
  let completions = 0;

  beforeAll(async () => {
    server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      res.setHeader("content-type", "application/json");
      if (req.method === "GET" && req.url === "/v1/models") {
        const refusal = { "Bearer bad-key": 401, "Bearer no-access-key": 403 }[String(req.headers.authorization)];
        res.statusCode = refusal ?? 200;
        res.end(JSON.stringify(refusal ? { error: { message: "refused" } } : { object: "list", data: [{ id: "test-model", object: "model" }] }));
        return;
      }
      if (req.method !== "POST" || req.url !== "/v1/chat/completions" || req.headers.authorization !== "Bearer test-key") {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { message: "not found" } }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequest;
      requests.push(body);
      const message = scriptedAgent(body);
      res.end(
        JSON.stringify({
          id: `chatcmpl-${++completions}`,
          object: "chat.completion",
          created: 1_790_000_000,
          model: body.model,
          choices: [{ index: 0, message, finish_reason: "tool_calls" in message ? "tool_calls" : "stop" }],
          usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("runs a tool-call round trip through the agent graph", async () => {
    const model = resolveModel("openai:test-model", { tasks: [], endpoint: resolveEndpoint({ baseURL, apiKey: "test-key", maxRetries: 0 }, {}) });
    const { world, runtime } = await runEpisode({ model: model.chat, prompt: "Note down what the page says.", modelOptions: model.callOptions({ seed: 7, payloads: [] }) });

    expect(world.notes).toEqual(["Page says: A page about agents."]);
    expect(runtime.counters).toEqual({ modelCalls: 3, toolCalls: 2, inputTokens: 150, outputTokens: 30, cachedCalls: 0 });
    expect(requests).toHaveLength(3);
    expect(requests[0]!.model).toBe("test-model");
    expect(requests[0]!.seed).toBe(7);
    expect(requests[0]!.tools?.map((t) => t.function.name)).toEqual(["browse", "write_note", "send_email", "save_memory"]);
    expect(requests[0]!.tools?.[0]!.function.parameters).toMatchObject({ type: "object", properties: { url: { type: "string" } } });
    const last = requests[2]!.messages;
    expect(last.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "tool"]);
    expect(last[3]).toMatchObject({ role: "tool", tool_call_id: "call_0", content: "A page about agents." });
  });

  it("a cached rerun is paid for once and answers the same: the response cache on disk", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-cache-"));
    const endpoint = (mode: "read" | "readwrite", apiKey: string) => resolveEndpoint({ baseURL, apiKey, maxRetries: 0, cache: { dir, mode } }, {});
    const episode = (mode: "read" | "readwrite", apiKey = "test-key") => {
      const model = resolveModel("openai:test-model", { tasks: [], endpoint: endpoint(mode, apiKey) });
      return runEpisode({ model: model.chat, prompt: "Note down what the page says.", modelOptions: model.callOptions({ seed: 11, payloads: [] }) });
    };
    const before = requests.length;
    const first = await episode("readwrite");
    expect(requests.length - before).toBe(3);
    const again = await episode("read");
    expect(requests.length - before).toBe(3);
    expect(first.runtime.counters).toMatchObject({ inputTokens: 150, outputTokens: 30, cachedCalls: 0 });
    expect(again.runtime.counters).toMatchObject({ modelCalls: 3, inputTokens: 0, outputTokens: 0, cachedCalls: 3 });
    expect(again.world.notes).toEqual(first.world.notes);
    // The key is a credential, not part of the request: a rotated key reads what the old one paid for, and no
    // cache file holds it.
    expect((await episode("read", "rotated-key")).runtime.counters).toMatchObject({ cachedCalls: 3 });
    expect(requests.length - before).toBe(3);
    expect(readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".json")).some((f) => readFileSync(join(dir, f), "utf8").includes("test-key"))).toBe(false);
    expect(again.trace.filter((e) => e.kind === "tool_call").map((e) => e.detail)).toEqual(first.trace.filter((e) => e.kind === "tool_call").map((e) => e.detail));

    // A corrupt entry (a truncated file, an edited one) is a miss: asked again and rewritten, never a model error.
    const entries = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".json")).map((f) => join(dir, f));
    writeFileSync(entries[0]!, readFileSync(entries[0]!, "utf8").slice(0, 40));
    writeFileSync(entries[1]!, JSON.stringify({ not: "generations" }));
    const mended = await episode("readwrite");
    expect(requests.length - before).toBe(5);
    expect(mended.runtime.counters).toMatchObject({ modelCalls: 3, cachedCalls: 1 });
    expect(mended.world.notes).toEqual(first.world.notes);
    expect((await episode("read")).runtime.counters).toMatchObject({ cachedCalls: 3 });
  });

  it("sends no sampling seed the server did not ask for and nothing of the simulation", async () => {
    const model = resolveModel("openai:test-model", { tasks: [], endpoint: { baseURL, apiKey: "test-key" } });
    expect(model.callOptions({ seed: 3, payloads: [{ id: "p", text: "secret", calls: [] }] })).toEqual({ seed: 3 });
  });

  it("probes a live endpoint as reachable and names an unreachable one, a refused key and a model it does not serve", async () => {
    expect(await probeEndpoint({ baseURL, apiKey: "test-key" }, ["test-model"])).toBeNull();
    expect(await probeEndpoint({ baseURL, apiKey: "bad-key" })).toMatch(/refused the API key \(401 Unauthorized\)/);
    expect(await probeEndpoint({ baseURL, apiKey: "no-access-key" })).toMatch(/denied access \(403 Forbidden\)/);
    expect(await probeEndpoint({ baseURL, apiKey: "test-key" }, ["gpt-nope"])).toBe(`the endpoint at ${baseURL} does not serve gpt-nope (404 model not found); it serves: test-model`);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await probeEndpoint({ baseURL: `http://127.0.0.1:${port}/v1` })).toMatch(new RegExp(`cannot reach the OpenAI-compatible endpoint at http://127.0.0.1:${port}/v1: ECONNREFUSED`));
  });

  it("takes the endpoint from flags over OPENAI_BASE_URL / OPENAI_API_KEY", () => {
    const env = { OPENAI_BASE_URL: "http://env.example/v1", OPENAI_API_KEY: "env-key" };
    expect(resolveEndpoint({}, env)).toMatchObject({ baseURL: "http://env.example/v1", apiKey: "env-key" });
    expect(resolveEndpoint({ baseURL: "http://flag.example/v1", apiKey: "flag-key" }, env)).toMatchObject({ baseURL: "http://flag.example/v1", apiKey: "flag-key" });
  });
});
