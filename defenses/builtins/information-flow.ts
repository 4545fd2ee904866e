import { z } from "zod";
import { argumentValues, squash } from "../util/args.ts";
import { allow, askApproval, block, type Defense, type HookScope, SENSITIVITIES } from "../types.ts";

export const InformationFlowParams = z.strictObject({
  /** Destinations inside these domains are not external (mail to colleagues, the intranet). */
  internal_domains: z.array(z.string().min(1)).default([]),
  /** Tool sensitivity classes treated as sinks. */
  sinks: z.array(z.enum(SENSITIVITIES)).default(["external_sink"]),
  /** What a violating call gets: a question to the human, or a refusal. */
  on_violation: z.enum(["ask_approval", "block"]).default("ask_approval"),
});
export type InformationFlowParams = z.infer<typeof InformationFlowParams>;

/** Per-agent taint: whether untrusted content reached the context, and the text of trusted sources. */
interface AgentTaint {
  tainted: boolean;
  firstUntrustedSource: string | null;
  trustedText: string;
  untrustedText: string;
}


/**
 * L1 information-flow control (CaMeL-style, at the granularity a tool-calling agent offers).
 * Once untrusted content (an outside email, a web page, a peer's message, an untrusted memory) has entered an
 * agent's context, the agent's choices may be steered by it. From then on, a call to a sink tool may only send
 * to destinations (recipients, IBANs, URLs) that come from trusted sources — the user's prompt, trusted tool
 * results, trusted memory — or that are internal. Any other destination needs the human's approval.
 * Before any untrusted content arrives, nothing is checked: there is nothing to be steered by.
 */
export function informationFlow(raw: unknown = {}): Defense {
  const params = InformationFlowParams.parse(raw);
  const id = "information-flow";
  const sinks = new Set<string>(params.sinks);
  const internal = params.internal_domains.map((d) => d.toLowerCase());

  const taintOf = (scope: HookScope): AgentTaint => {
    const agents = scope.state(id, () => new Map<string, AgentTaint>());
    let taint = agents.get(scope.agent);
    if (!taint) {
      taint = { tainted: false, firstUntrustedSource: null, trustedText: squash(scope.userPrompt), untrustedText: "" };
      agents.set(scope.agent, taint);
    }
    return taint;
  };

  const isInternal = (value: string): boolean => {
    const at = value.lastIndexOf("@");
    let host = at >= 0 ? value.slice(at + 1) : value;
    const url = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(value);
    if (url?.[1]) host = url[1];
    host = host.toLowerCase();
    return internal.some((d) => host === d || host.endsWith(`.${d}`));
  };

  return {
    id,
    layer: "L1",
    version: "1.0.0",
    description: "Information-flow control: after untrusted content enters the context, sink destinations must come from trusted sources",
    params,
    hooks: {
      onContext(entry, scope) {
        const taint = taintOf(scope);
        if (entry.provenance.trust === "trusted") {
          taint.trustedText += `\n${squash(entry.content)}`;
        } else {
          taint.tainted = true;
          taint.firstUntrustedSource ??= entry.provenance.source;
          taint.untrustedText += `\n${squash(entry.content)}`;
        }
        return allow;
      },
      onToolCall(call, scope) {
        if (!sinks.has(call.tool.sensitivity)) return allow;
        const taint = taintOf(scope);
        if (!taint.tainted) return allow;
        for (const arg of call.tool.destinationArgs) {
          for (const value of argumentValues(call.args[arg])) {
            if (isInternal(value) || taint.trustedText.includes(squash(value))) continue;
            const origin = taint.untrustedText.includes(squash(value))
              ? `appears only in untrusted content`
              : `comes from no trusted source`;
            const reason = `${call.tool.name}.${arg} = ${value} ${origin} (context tainted by ${taint.firstUntrustedSource})`;
            return params.on_violation === "block"
              ? block("ifc.untrusted_destination", reason)
              : askApproval("ifc.untrusted_destination", reason);
          }
        }
        return allow;
      },
    },
  };
}
