import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The reference defense service of the HTTP layer protocol (`defenses/http-protocol.md`), in plain `node:http`: a
 * layer in another process — as one in Python or Go would be. It blocks a call of a tool that sends data out when the
 * user's request asks to send nothing (a toy rule; the protocol is the point). `hang` makes it never answer
 * a call, to show that a service that fails is an episode error, never a block.
 */
export interface ServiceCall {
  readonly hook: string;
  readonly subject: { tool: { name: string; sensitivity: string }; args: Record<string, unknown> };
  readonly scope: { user_prompt: string };
}

/**
 * `id` and `decide` make another service on the same protocol (a test's own rule); `hang` one that never answers;
 * `respond` one that answers a call however it likes (a redirect, a flood).
 */
export async function startDefenseService(
  options: {
    readonly hang?: boolean;
    readonly timeoutMs?: number;
    readonly id?: string;
    readonly decide?: (call: ServiceCall) => Record<string, unknown>;
    readonly respond?: (res: ServerResponse) => void;
  } = {},
): Promise<{ url: string; calls: { hook: string }[]; close: () => Promise<void> }> {
  const calls: { hook: string }[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    res.setHeader("content-type", "application/json");
    if (req.method === "GET") {
      return res.end(JSON.stringify({ protocol: 1, id: options.id ?? "sink-guard", layer: "L1", version: "1.0.0", description: "blocks external sends the request does not ask for", hooks: ["onToolCall"], ...(options.timeoutMs && { timeout_ms: options.timeoutMs }) }));
    }
    const call = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ServiceCall;
    calls.push({ hook: call.hook });
    if (options.hang) return;
    if (options.respond) return options.respond(res);
    if (options.decide) return res.end(JSON.stringify(options.decide(call)));
    const asked = /\b(send|e-?mail|mail|pay|transfer|wire|share|post|tell|forward|reply)\b/i.test(call.scope.user_prompt);
    const { name, sensitivity } = call.subject.tool;
    const verdict = sensitivity === "external_sink" && !asked ? { kind: "block", code: "unrequested_sink", reason: `${name} sends data out, and the request asks for no such thing` } : { kind: "allow" };
    res.end(JSON.stringify(verdict));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/anis`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
