import { z } from "zod";
import { allow, block, type Defense, type HookScope } from "../types.ts";
import { goalAnchors } from "./goal-consistency.ts";

export const ProtocolAuditParams = z.strictObject({
  /** Longest delegation chain from the user (user → entry agent → … ); deeper hand-offs are refused. */
  max_depth: z.number().int().min(1).default(4),
  /** Share of the sender's own mandate's anchors (names, identifiers, amounts) a delegation must carry on: work
   * handed on derives from work received. Findings attached to it do not count against it. */
  min_mandate_overlap: z.number().min(0).max(1).default(0.5),
});

interface Mandate {
  /** Delegation depth from the user: 1 for the agent the user talks to. */
  readonly depth: number;
  /** The anchors of the user's request that reached this agent down the chain (data attached on the way is not). */
  readonly anchors: ReadonlySet<string>;
  readonly from: string;
}

interface Conversation {
  /** The mandate each agent holds: the user's request, or a delegation it received. */
  readonly mandates: Map<string, Mandate>;
  /** Open delegations, `from>to`: each allows exactly one reply. */
  readonly open: Set<string>;
  /** Replies sent and not yet received, `from>to`. */
  readonly replies: Set<string>;
  /** Group-chat turns sent and not yet received, `from>to`. */
  readonly turns: Set<string>;
}

/**
 * L4 inter-agent protocol audit and trust-chain validation. Agents talk by a protocol: the user gives the entry
 * agent a mandate; an agent that holds a mandate may delegate part of it; the delegate answers once. The audit keeps
 * that conversation's state and refuses what breaks it: a message that answers no open delegation (unsolicited,
 * or a second reply), a delegation from an agent that holds no mandate (a chain that does not lead back to the
 * user), a chain deeper than the limit (relay loops, self-replicating hand-offs), and a delegation that does not
 * carry on its sender's own mandate (work the sender was never given is not its to hand on). In a system that talks
 * by broadcast (a group chat), members holding the conversation's mandate exchange turns freely; a message from or
 * to anyone else still needs a mandate behind it.
 */
export function protocolAudit(raw: unknown = {}): Defense {
  const params = ProtocolAuditParams.parse(raw);
  const id = "protocol-audit";
  const conversation = (scope: HookScope) => scope.state<Conversation>(id, () => ({ mandates: new Map(), open: new Set(), replies: new Set(), turns: new Set() }));
  return {
    id,
    layer: "L4",
    version: "1.0.0",
    description: "Protocol audit and trust-chain validation: messages follow delegate-and-reply; every mandate leads back to the user",
    params,
    hooks: {
      onUserInput(input, scope) {
        conversation(scope).mandates.set(scope.agent, { depth: 1, anchors: goalAnchors(input.text), from: "user" });
        return allow;
      },
      onAgentMessage(message, scope) {
        const { mandates, open, replies, turns } = conversation(scope);
        const thread = `${message.from}>${message.to}`;
        const answered = `${message.to}>${message.from}`;
        if (message.direction === "receive") {
          if (open.has(thread) || replies.delete(thread) || turns.delete(thread)) return allow;
          return block("protocol.unsolicited", `message from ${message.from} to ${message.to} is neither a delegation nor the reply to one`);
        }
        if (open.delete(answered)) {
          replies.add(thread);
          return allow;
        }
        const mandate = mandates.get(message.from);
        if (!mandate) return block("protocol.broken_chain", `${message.from} holds no mandate that leads back to the user, so it cannot delegate`);
        // In a group chat, members that hold the conversation's mandate take turns: a turn hands on no new work.
        if (scope.system.protocol === "broadcast" && mandates.has(message.to)) {
          turns.add(thread);
          return allow;
        }
        if (mandate.depth + 1 > params.max_depth) {
          return block("protocol.too_deep", `delegation to ${message.to} would be ${mandate.depth + 1} hand-offs from the user (limit ${params.max_depth})`);
        }
        const asked = goalAnchors(message.content);
        const held = mandate.anchors;
        const carried = new Set([...held].filter((a) => asked.has(a)));
        if (held.size > 0 && carried.size / held.size < params.min_mandate_overlap) {
          return block(
            "protocol.mandate_exceeded",
            `${message.from}'s delegation does not carry on its own mandate (from ${mandate.from}): it names ${[...asked].filter((a) => !held.has(a)).slice(0, 6).join(", ")} instead`,
            message.content,
          );
        }
        open.add(thread);
        mandates.set(message.to, { depth: mandate.depth + 1, anchors: carried, from: message.from });
        return allow;
      },
    },
  };
}
