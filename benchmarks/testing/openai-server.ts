import { createHash } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface ChatRequest {
  model: string;
  messages: { role: string; content: string | null }[];
  tools?: { function: { name: string; parameters?: { properties?: Record<string, { type?: string }>; required?: string[] } } }[];
}

/** Faults the server injects, chosen by a hash of the request body so that every run meets the same ones. */
export interface FaultPlan {
  /** Transient: the first attempt fails, the retry succeeds. */
  readonly transient: boolean;
  /** Persistent: a malformed tool call (arguments that are not JSON), or a 503 on every attempt. */
  readonly persistent: boolean;
}

/** What the server did, by kind: the test checks every failure is accounted for on the client's side. */
export interface ServerLog {
  completions: number;
  /** Chat requests received (every attempt), and those that were a first attempt (`x-anis-attempt: 0`). */
  received: number;
  first: number;
  /** Injected failures by kind: `http_429`, `http_500`, `slow`, `drop`, `drop_mid_body`, `malformed`, `http_503_always`. */
  faults: Record<string, number>;
}

/**
 * An OpenAI-compatible chat-completions server on 127.0.0.1 that plays a plain agent over whatever tools it is
 * given (call the first tool with placeholder arguments, then answer with what it returned), deterministically
 * from the request, and injects faults on request.
 */
export async function startOpenAIServer(plan: FaultPlan): Promise<{ baseURL: string; log: ServerLog; close: () => Promise<void> }> {
  const log: ServerLog = { completions: 0, received: 0, first: 0, faults: {} };
  const attempts = new Map<string, number>();
  const fault = (kind: string) => (log.faults[kind] = (log.faults[kind] ?? 0) + 1);
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === "GET" && req.url === "/v1/models") return json(res, 200, { object: "list", data: [{ id: "scripted", object: "model" }] });
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") return json(res, 404, { error: { message: "not found" } });
    const raw = Buffer.concat(chunks).toString("utf8");
    const key = createHash("sha256").update(raw).digest("hex");
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    log.received++;
    if (req.headers["x-anis-attempt"] === "0") log.first++;
    const bucket = Number.parseInt(key.slice(0, 8), 16);
    const body = JSON.parse(raw) as ChatRequest;
    const message = scriptedAgent(body, key);

    if (plan.persistent && bucket % 31 === 0) {
      fault("http_503_always");
      return json(res, 503, { error: { message: "overloaded" } });
    }
    if (plan.transient && attempt === 1) {
      switch (bucket % 6) {
        case 1:
          fault("http_429");
          res.setHeader("retry-after-ms", "5");
          return json(res, 429, { error: { message: "rate limited" } });
        case 2:
          fault("http_500");
          return json(res, 500, { error: { message: "internal error" } });
        case 3:
          // A slow answer that never comes: the client's timeout ends it however fast or slow the machine is.
          if (bucket % 24 !== 3) break;
          fault("slow");
          return req.socket.destroyed ? undefined : new Promise<void>((resolve) => req.socket.once("close", resolve));
        case 4:
          fault("drop");
          return req.socket.destroy();
        case 5:
          fault("drop_mid_body");
          res.writeHead(200, { "content-type": "application/json", "content-length": "4096" });
          res.write('{"id":"chatcmpl-');
          return setTimeout(() => req.socket.destroy(), 5);
      }
    }
    if (plan.persistent && message.tool_calls && bucket % 13 === 0) {
      fault("malformed");
      message.tool_calls[0]!.function.arguments = "{not json";
    }
    log.completions++;
    json(res, 200, {
      id: `chatcmpl-${key.slice(0, 24)}`,
      object: "chat.completion",
      created: 1_790_000_000,
      model: body.model,
      choices: [{ index: 0, message, finish_reason: message.tool_calls ? "tool_calls" : "stop" }],
      usage: { prompt_tokens: Math.ceil(raw.length / 4), completion_tokens: 12, total_tokens: Math.ceil(raw.length / 4) + 12 },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.keepAliveTimeout = 1000;
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    log,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const placeholder: Record<string, unknown> = { string: "report", number: 1, integer: 1, boolean: true, array: [], object: {} };

function scriptedAgent(request: ChatRequest, key: string) {
  const toolResults = request.messages.filter((m) => m.role === "tool");
  const tool = request.tools?.[0]?.function;
  if (toolResults.length === 0 && tool) {
    const properties = tool.parameters?.properties ?? {};
    const args = Object.fromEntries((tool.parameters?.required ?? []).map((name) => [name, placeholder[properties[name]?.type ?? "string"] ?? "report"]));
    return {
      role: "assistant" as const,
      content: null,
      tool_calls: [{ id: `call_${key.slice(0, 12)}`, type: "function" as const, function: { name: tool.name, arguments: JSON.stringify(args) } }],
    };
  }
  return { role: "assistant" as const, tool_calls: undefined, content: `Done. ${String(toolResults.at(-1)?.content ?? "").slice(0, 60)}` };
}
