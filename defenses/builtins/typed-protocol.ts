import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { allow, type Defense, transform } from "../types.ts";

export const TypedProtocolParams = z.strictObject({
  /** Words that name an agent role; a sentence addressing one with an order is an instruction, not a finding. */
  roles: z.array(z.string().min(1)).default(["agent", "supervisor", "coordinator", "coordinating", "assistant", "worker", "model", "ai"]),
  orders: z.array(z.string().min(1)).default(["must", "please", "should", "needs? to", "required", "immediately", "now", "override", "correction", "also asked"]),
});

/**
 * L1 typed inter-agent protocol. A message between agents is data of a declared type: a delegation carries a task
 * and what the delegator found, a report carries findings. Every received message is checked against its type: a
 * sentence that addresses an agent with an order, or claims another sender, is neither task nor finding — it and the
 * rest of its paragraph (the addressed message) are dropped before the recipient reads the message.
 */
export function typedProtocol(raw: unknown = {}): Defense {
  const params = TypedProtocolParams.parse(raw);
  const role = new RegExp(`\\b(${params.roles.join("|")})s?\\b`, "i");
  const order = new RegExp(`\\b(${params.orders.join("|")})\\b`, "i");
  const forgedSender = /\b(from|signed|on behalf of)\b[^.]{0,40}\b(supervisor|user|emma)\b/i;
  const addressed = new RegExp(`\\b(for|to) the (${params.roles.join("|")})\\b[^.]{0,40}:|^\\s*(relay to|message for|note for|to the)\\b`, "i");
  return {
    id: "typed-protocol",
    layer: "L1",
    version: "1.0.0",
    description: "Typed inter-agent protocol: delegations carry a task and findings, reports carry findings; orders addressed to agents are not part of either type",
    params,
    hooks: {
      onAgentMessage(message) {
        if (message.direction !== "receive") return allow;
        const isOrder = (s: string) => (role.test(s) && order.test(s)) || forgedSender.test(s) || addressed.test(s);
        let dropped = 0;
        const removed: string[] = [];
        const paragraphs = message.content.split(/\n\s*\n/).map((paragraph) => {
          const parts = sentences(paragraph);
          const first = parts.findIndex(isOrder);
          if (first < 0) return paragraph;
          dropped += parts.length - first;
          removed.push(...parts.slice(first));
          return parts.slice(0, first).join(" ");
        });
        if (dropped === 0) return allow;
        return transform(
          [...paragraphs.filter((p) => p.trim()), `[${dropped} sentence(s) dropped: neither task nor findings]`].join("\n\n"),
          "protocol.order_in_report",
          `message from ${message.from} carried orders addressed to an agent`,
          removed.join("\n"),
        );
      },
    },
  };
}
