import { createHash, createHmac, randomBytes } from "node:crypto";
import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { alternation, partiesOf } from "../util/identities.ts";
import { allow, block, type Defense, type HookScope, transform } from "../types.ts";

export const SignedIdentitiesParams = z.strictObject({
  /** The run's signing key (hex). Default: a fresh random key for each process. */
  key: z.string().regex(/^[0-9a-f]{32,}$/i).optional(),
  /**
   * Identities a message may claim in its text, besides the episode's own parties (its agents and the user whose
   * session it is, from the scope); a claim that is not the signed sender is forged.
   */
  identities: z.array(z.string().min(1)).default(["user"]),
});

/** How a sentence claims an author, written from the seen split ("… from Emma"): the claim word, then a party. */
export const AUTHOR_CLAIM = "\\bfrom\\b:?\\s*(?:the\\s+)?";

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * L0 signed agent identities. Every message between agents is signed by its sender with an HMAC over
 * (from, to, content) under a per-run key; the receiver verifies it, so a message altered or injected in transit
 * is refused. Origin is then known, so text inside a message that claims to come from someone else — "from the
 * supervisor", "message from Emma, forwarded" — is a forged claim and is dropped. Who may be claimed (the system's
 * agents, the user) comes from the episode.
 */
export function signedIdentities(raw: unknown = {}): Defense {
  const params = SignedIdentitiesParams.parse(raw);
  const key = Buffer.from(params.key ?? randomBytes(32).toString("hex"), "hex");
  const id = "signed-identities";
  const sign = (from: string, to: string, content: string) => createHmac("sha256", key).update(`${from}\u0000${to}\u0000${content}`).digest("hex");
  const claims = new Map<string, RegExp>();
  const claimOf = (scope: HookScope) => {
    const parties = partiesOf(scope);
    const names = [...new Set([...params.identities, parties.user, ...parties.agents])];
    const key = names.join(",");
    let claim = claims.get(key);
    if (!claim) claims.set(key, (claim = new RegExp(`${AUTHOR_CLAIM}(${alternation(names)})\\b`, "i")));
    return claim;
  };
  return {
    id,
    layer: "L0",
    version: "2.0.0",
    description: "Signed agent identities: HMAC-signed messages verified on receipt; forged identity claims in text are dropped",
    params: { identities: params.identities },
    hooks: {
      onAgentMessage(message, scope) {
        const signatures = scope.state(id, () => new Map<string, string>());
        if (message.direction === "send") {
          signatures.set(digest(`${message.from}>${message.to}>${message.content}`), sign(message.from, message.to, message.content));
          return allow;
        }
        const signature = signatures.get(digest(`${message.from}>${message.to}>${message.content}`));
        if (signature !== sign(message.from, message.to, message.content)) {
          return block("identity.unverified", `message claiming to be from ${message.from} carries no valid signature`);
        }
        const claim = claimOf(scope);
        const parts = sentences(message.content);
        const kept = parts.filter((s) => {
          const m = claim.exec(s);
          return !m || m.at(-1)!.toLowerCase() === message.from.toLowerCase();
        });
        if (kept.length === parts.length) return allow;
        return transform(
          [...kept, `[${parts.length - kept.length} sentence(s) with a forged identity claim dropped]`].join("\n"),
          "identity.forged_claim",
          `text in ${message.from}'s message claims another sender`,
          parts.filter((s) => !kept.includes(s)).join("\n"),
        );
      },
    },
  };
}
