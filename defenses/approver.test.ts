import { describe, expect, it } from "vitest";
import { SimulatedApprover } from "./approver.ts";
import type { ToolDescriptor } from "./types.ts";

const pay: ToolDescriptor = { name: "send_payment", description: "", sensitivity: "external_sink", source: "trusted", destinationArgs: ["iban"] };
const request = (args: Record<string, unknown>) => ({ hook: "onToolCall" as const, subject: { id: "1", tool: pay, args }, agent: "a", code: "x", reason: "y" });

describe("SimulatedApprover", () => {
  const plan = [{ tool: "send_payment", args: { iban: "DE89370400440532013000", amount: 1250, memo: "INV-2041" } }];

  it("approves what the task needs, whatever the spacing, case or key order", () => {
    const approver = new SimulatedApprover(plan);
    expect(approver.decide(request({ memo: "inv-2041 ", amount: 1250, iban: "DE89370400440532013000" }))).toBe(true);
  });

  it("refuses a near miss: another amount or account", () => {
    const approver = new SimulatedApprover(plan);
    expect(approver.decide(request({ iban: "DE89370400440532013000", amount: 4900, memo: "INV-2041" }))).toBe(false);
    expect(approver.decide(request({ iban: "GB29NWBK60161331926819", amount: 1250, memo: "INV-2041" }))).toBe(false);
  });

  it("errs at the configured rate, deterministically by seed", () => {
    const decisions = (seed: string) => {
      const approver = new SimulatedApprover(plan, { errorRate: 0.3, seed });
      return Array.from({ length: 400 }, () => approver.decide(request(plan[0]!.args)));
    };
    const a = decisions("s1");
    expect(decisions("s1")).toEqual(a);
    const wrong = a.filter((d) => !d).length / a.length;
    expect(wrong).toBeGreaterThan(0.22);
    expect(wrong).toBeLessThan(0.38);
  });
});
