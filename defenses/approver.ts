import type { HookName, HookSubjects } from "./types.ts";
import { uniform } from "./util/uniform.ts";

export interface ApprovalRequest<H extends HookName = HookName> {
  readonly hook: H;
  readonly subject: HookSubjects[H];
  readonly agent: string;
  readonly code: string;
  readonly reason: string;
}

/** Stands in for the human asked by an `ask_approval` verdict. */
export interface Approver {
  decide(request: ApprovalRequest): boolean;
}

/** An action the user's task needs, as the human knows it: a tool and its arguments. */
export interface ExpectedAction {
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
}

/** The tool name under which memory writes appear in an expected plan. */
export const MEMORY_WRITE_TOOL = "save_memory";

/**
 * A simulated human who approves what serves the user task and refuses the rest.
 * It knows the task's expected actions (the human knows what they asked for); defenses never do.
 * - a tool call is approved when it matches an expected action (same tool, same arguments after normalising);
 * - a memory write when the plan saves the same text;
 * - content (a tool result) when the call that produced it is expected;
 * - messages between the agents of one system are approved (the user delegated the work);
 * - user input is approved; capability requests are refused unless expected.
 * With `errorRate` > 0 each decision is flipped by a seeded draw, as a tired human would.
 */
export class SimulatedApprover implements Approver {
  private asked = 0;
  constructor(
    private readonly expected: readonly ExpectedAction[],
    private readonly options: { readonly errorRate?: number; readonly seed?: string } = {},
  ) {}

  decide(request: ApprovalRequest): boolean {
    const decision = this.serves(request);
    const errorRate = this.options.errorRate ?? 0;
    if (errorRate <= 0) return decision;
    const flip = uniform(`${this.options.seed ?? ""}:approver:${this.asked++}`) < errorRate;
    return flip ? !decision : decision;
  }

  private serves(request: ApprovalRequest): boolean {
    switch (request.hook) {
      case "onToolCall": {
        const call = request.subject as HookSubjects["onToolCall"];
        return this.isExpected(call.tool.name, call.args);
      }
      case "onMemoryWrite": {
        const write = request.subject as HookSubjects["onMemoryWrite"];
        return this.isExpected(MEMORY_WRITE_TOOL, { text: write.text });
      }
      case "onContext":
      case "onToolResult": {
        const { call } = request.subject as HookSubjects["onContext"];
        return call !== undefined && this.isExpected(call.tool.name, call.args);
      }
      case "onCapabilityRequest": {
        const req = request.subject as HookSubjects["onCapabilityRequest"];
        return this.expected.some((a) => a.tool === req.capability);
      }
      case "onAgentMessage":
      case "onUserInput":
        return true;
    }
  }

  private isExpected(tool: string, args: Readonly<Record<string, unknown>>): boolean {
    const key = canonical(args);
    return this.expected.some((a) => a.tool === tool && canonical(a.args) === key);
  }
}

/** Argument values compared as a person would: case, spacing and key order do not matter. */
export function canonical(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.replace(/\s+/g, " ").trim().toLowerCase());
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
