import { z } from "zod";
import { allow, type Alert, block, type Defense, type HookScope, quarantine } from "../types.ts";

export const AgentQuarantineParams = z.strictObject({
  /** What a quarantined agent loses: talking to other agents, writing memory, acting with non-read tools. */
  isolate: z.array(z.enum(["messages", "memory", "actions"])).min(1).default(["messages", "memory"]),
});

const ACTION_HOOKS = new Set(["onToolCall", "onMemoryWrite", "onCapabilityRequest"]);
const stopped = (alert: Alert) => alert.verdict === "block" || alert.verdict === "quarantine" || alert.approved === false;

/**
 * The agent an alert shows to be infectious, if any. An agent is infectious once a layer stopped one of its own
 * actions (a tool call, a memory write, a capability request, a message it sent), or once content it passed on to
 * another agent carried evidence of an attack (a layer named the offending text). Content an agent merely received
 * makes it exposed, not infectious.
 */
export function infectiousAgent(alert: Alert): string | null {
  if (alert.source.startsWith("peer:") && (alert.evidence !== null || stopped(alert))) return alert.source.slice("peer:".length);
  if (!stopped(alert)) return null;
  if (ACTION_HOOKS.has(alert.hook)) return alert.agent;
  if (alert.hook === "onAgentMessage" && alert.source.startsWith("agent:")) return alert.source.slice("agent:".length);
  return null;
}

/**
 * L4 quarantine of an infectious agent. Reads the episode's alerts (any layer, any agent); once an agent is shown
 * to be infectious, it is isolated for the rest of the episode: its messages to and from other agents are held,
 * its memory writes are quarantined, and (when configured) its write, send, delete and grant calls are refused.
 * An infection then cannot travel on through it.
 */
export function agentQuarantine(raw: unknown = {}): Defense {
  const params = AgentQuarantineParams.parse(raw);
  const id = "agent-quarantine";
  const isolate = new Set(params.isolate);
  const infected = (scope: HookScope) => {
    const state = scope.state(id, () => ({ seen: 0, agents: new Map<string, Alert>() }));
    const alerts = scope.alerts();
    for (; state.seen < alerts.length; state.seen++) {
      const alert = alerts[state.seen]!;
      const agent = alert.defense === id ? null : infectiousAgent(alert);
      if (agent !== null && !state.agents.has(agent)) state.agents.set(agent, alert);
    }
    return state.agents;
  };
  const why = (agent: string, alert: Alert) => `agent ${agent} is quarantined: ${alert.defense} raised ${alert.code} on it`;
  return {
    id,
    layer: "L4",
    version: "1.0.0",
    description: "Agent quarantine: an agent shown to be infectious is isolated from the other agents and from memory",
    params,
    hooks: {
      onAgentMessage(message, scope) {
        if (!isolate.has("messages")) return allow;
        const agents = infected(scope);
        const sender = agents.get(message.from);
        if (sender) return quarantine("agent.quarantined", why(message.from, sender));
        const recipient = agents.get(message.to);
        return recipient ? quarantine("agent.quarantined", why(message.to, recipient)) : allow;
      },
      onMemoryWrite(_request, scope) {
        const alert = isolate.has("memory") ? infected(scope).get(scope.agent) : undefined;
        return alert ? quarantine("agent.quarantined", why(scope.agent, alert)) : allow;
      },
      onToolCall(call, scope) {
        if (!isolate.has("actions") || call.tool.sensitivity === "read") return allow;
        const alert = infected(scope).get(scope.agent);
        return alert ? block("agent.quarantined", why(scope.agent, alert)) : allow;
      },
    },
  };
}
