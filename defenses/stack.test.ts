import { describe, expect, it } from "vitest";
import { SimulatedApprover } from "./approver.ts";
import { DefenseError, DefenseStack } from "./stack.ts";
import { allow, askApproval, block, type Defense, type DefenseHooks, type Layer, type ToolDescriptor, transform } from "./types.ts";

const layer = (id: string, hooks: DefenseHooks, l: Layer = "L1"): Defense => ({ id, layer: l, version: "1", description: id, params: {}, hooks });
const sendEmail: ToolDescriptor = { name: "send_email", description: "", sensitivity: "external_sink", source: "trusted", destinationArgs: ["to"] };
const context = (content: string) => ({ kind: "tool_result" as const, content, provenance: { source: "tool:browse", trust: "untrusted" as const, agent: "a" } });
const stackOf = (layers: Defense[], expected: { tool: string; args: Record<string, unknown> }[] = []) =>
  new DefenseStack(layers, new SimulatedApprover(expected), { episodeId: "ep", userPrompt: "do it" });

describe("DefenseStack", () => {
  it("runs layers in configured order and passes transformed content along", async () => {
    const order: string[] = [];
    const stack = stackOf([
      layer("first", { onContext: (e) => (order.push(`first:${e.content}`), transform(e.content.toUpperCase(), "t.upper", "shout")) }),
      layer("second", { onContext: (e) => (order.push(`second:${e.content}`), allow) }),
    ]);
    const outcome = await stack.check("onContext", context("hi"), stack.scope("a", []));
    expect(order).toEqual(["first:hi", "second:HI"]);
    expect(outcome).toEqual({ passed: true, content: "HI" });
    expect(stack.audit.entries.map((e) => [e.defense, e.verdict, e.code])).toEqual([["first", "transform", "t.upper"]]);
  });

  it("stops at the first block: later layers do not run", async () => {
    const order: string[] = [];
    const stack = stackOf([
      layer("a", { onContext: () => (order.push("a"), allow) }),
      layer("b", { onContext: () => (order.push("b"), block("b.no", "no")) }),
      layer("c", { onContext: () => (order.push("c"), allow) }),
    ]);
    const outcome = await stack.check("onContext", context("x"), stack.scope("a", []));
    expect(order).toEqual(["a", "b"]);
    expect(outcome).toMatchObject({ passed: false, verdict: "block", code: "b.no", defense: "b" });
  });

  it("asks the approver: an expected call passes, anything else is denied", async () => {
    const ask = layer("gate", { onToolCall: () => askApproval("gate.ask", "check") });
    const stack = stackOf([ask], [{ tool: "send_email", args: { to: ["bob@x.example"] } }]);
    const scope = stack.scope("a", [sendEmail]);
    const ok = await stack.check("onToolCall", { id: "1", tool: sendEmail, args: { to: ["BOB@x.example "] } }, scope);
    const no = await stack.check("onToolCall", { id: "2", tool: sendEmail, args: { to: ["eve@evil.example"] } }, scope);
    expect(ok).toEqual({ passed: true, content: undefined });
    expect(no).toMatchObject({ passed: false, verdict: "denied", code: "gate.ask" });
    expect(stack.audit.entries.map((e) => e.approved)).toEqual([true, false]);
  });

  it("turns a throwing layer into a DefenseError, never a block", async () => {
    const stack = stackOf([layer("broken", { onContext: () => { throw new Error("boom"); } })]);
    await expect(stack.check("onContext", context("x"), stack.scope("a", []))).rejects.toThrow(DefenseError);
    expect(stack.audit.entries).toEqual([]);
  });

  it("gives every layer a view it cannot change: rewriting a call's arguments or a tool in place fails that layer", async () => {
    const args = { to: ["bob@x.example"] };
    const tools = [{ ...sendEmail, destinationArgs: ["to"] }];
    const rewriter = layer("rewriter", { onToolCall: (call) => (((call.args as { to: string[] }).to = ["eve@evil.example"]), allow) });
    const editor = layer("editor", { onToolCall: (call) => (((call.tool as { sensitivity: string }).sensitivity = "none"), allow) });
    const scopeEditor = layer("scope-editor", { onToolCall: (_call, scope) => ((scope.tools[0] as unknown as { destinationArgs: string[] }).destinationArgs.length = 0, allow) });
    for (const cheat of [rewriter, editor, scopeEditor]) {
      const stack = stackOf([cheat]);
      await expect(stack.check("onToolCall", { id: "1", tool: tools[0]!, args }, stack.scope("a", tools))).rejects.toThrow(DefenseError);
    }
    expect(args).toEqual({ to: ["bob@x.example"] });
    expect(tools[0]).toEqual({ ...sendEmail, destinationArgs: ["to"] });
    // The next layer sees what the first saw, whatever the first tried.
    const seen: unknown[] = [];
    const stack = stackOf([layer("tries", { onContext: (e) => (Reflect.set(e, "content", "changed"), allow) }), layer("reads", { onContext: (e) => (seen.push(e.content), allow) })]);
    await stack.check("onContext", context("as read"), stack.scope("a", []));
    expect(seen).toEqual(["as read"]);
  });

  it("fails a layer whose hook never answers, by its deadline; the episode goes on as an error, never a block", async () => {
    const hung = layer("hung", { onContext: () => new Promise(() => {}) });
    const stack = new DefenseStack([hung], new SimulatedApprover([]), { episodeId: "ep", userPrompt: "do it" }, undefined, 20);
    await expect(stack.check("onContext", context("x"), stack.scope("a", []))).rejects.toThrow(/defense hung failed in onContext: no verdict within 0.02 s/);
    expect(stack.audit.entries).toEqual([]);
  });

  it("rejects a transform on a tool call", async () => {
    const stack = stackOf([layer("t", { onToolCall: () => transform("{}", "t.x", "rewrite") })]);
    await expect(stack.check("onToolCall", { id: "1", tool: sendEmail, args: {} }, stack.scope("a", [sendEmail]))).rejects.toThrow(/transform is not valid on onToolCall/);
  });

  it("keeps per-episode state per defense and collects system prompt contributions in order", async () => {
    const counting = layer("count", {
      onContext: (_e, scope) => {
        const s = scope.state("count", () => ({ n: 0 }));
        s.n++;
        return s.n > 2 ? block("count.limit", "too many") : allow;
      },
      systemPrompt: () => "rule one",
    });
    const stack = stackOf([counting, layer("p", { systemPrompt: () => "rule two" })]);
    const a = stack.scope("a", []);
    const b = stack.scope("b", []);
    const verdicts = [];
    for (const scope of [a, b, a]) verdicts.push((await stack.check("onContext", context("x"), scope)).passed);
    expect(verdicts).toEqual([true, true, false]);
    expect(await stack.systemPrompt(a)).toEqual(["rule one", "rule two"]);
  });
});
