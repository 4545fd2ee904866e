import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { alternation, partiesOf } from "../util/identities.ts";
import { allow, type Defense, type HookScope, transform } from "../types.ts";

/**
 * Default word lists, written from the seen split's injected texts (`rules-from-seen.test.ts` checks each word
 * against the corpus): words that name an agent in general, and words that make a sentence an order.
 */
export const ROLE_WORDS: readonly string[] = ["agent", "assistant", "ai", "coordinating"];
export const ORDER_WORDS: readonly string[] = ["must", "please", "required", "immediately", "now"];
/** How a sentence claims an author ("… from Emma", "from the supervisor"); the author is one of the episode's parties. */
export const CLAIM_WORDS: readonly string[] = ["from"];
/** How a sentence opens when it is addressed to someone rather than a finding ("Message for …", "Note for …"). */
export const ADDRESS_OPENINGS: readonly string[] = ["message for", "note for", "to the"];

export const TypedProtocolParams = z.strictObject({
  /** Words that name an agent role, besides the system's own agents' names; a sentence addressing one with an order is an instruction, not a finding. */
  roles: z.array(z.string().min(1)).default([...ROLE_WORDS]),
  orders: z.array(z.string().min(1)).default([...ORDER_WORDS]),
});

/**
 * L1 typed inter-agent protocol. A message between agents is data of a declared type: a delegation carries a task
 * and what the delegator found, a report carries findings. Every received message is checked against its type: a
 * sentence that addresses an agent with an order, or claims another sender, is neither task nor finding — it and the
 * rest of its paragraph (the addressed message) are dropped before the recipient reads the message. The agents'
 * and the user's names come from the episode (its system and whose session it is).
 */
export function typedProtocol(raw: unknown = {}): Defense {
  const params = TypedProtocolParams.parse(raw);
  const order = new RegExp(`\\b(${params.orders.join("|")})\\b`, "i");
  const rulesFor = new Map<string, { role: RegExp; forgedSender: RegExp; addressed: RegExp }>();
  const rulesOf = (scope: HookScope) => {
    const parties = partiesOf(scope);
    const key = `${parties.user}|${parties.agents.join(",")}`;
    let rules = rulesFor.get(key);
    if (!rules) {
      const roles = `${params.roles.join("|")}|${alternation(parties.agents)}`;
      rules = {
        role: new RegExp(`\\b(${roles})s?\\b`, "i"),
        forgedSender: new RegExp(`\\b(${alternation(CLAIM_WORDS)})\\b[^.]{0,40}\\b(user|${alternation([parties.user, ...parties.agents])})\\b`, "i"),
        addressed: new RegExp(`\\b(for|to) the (${roles})\\b[^.]{0,40}:|^\\s*(${alternation(ADDRESS_OPENINGS)})\\b`, "i"),
      };
      rulesFor.set(key, rules);
    }
    return rules;
  };
  return {
    id: "typed-protocol",
    layer: "L1",
    version: "2.0.0",
    description: "Typed inter-agent protocol: delegations carry a task and findings, reports carry findings; orders addressed to agents are not part of either type",
    params,
    hooks: {
      onAgentMessage(message, scope) {
        if (message.direction !== "receive") return allow;
        const { role, forgedSender, addressed } = rulesOf(scope);
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
