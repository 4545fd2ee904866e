import { createHash } from "node:crypto";
import type { GeneratorConfig } from "./generator.ts";
import type { AttackCase } from "./schema.ts";

/**
 * Roles in `topologies.systems`: `{reader}` is the agent that reads first in the case's task, `{actor}` the one that
 * makes its first acting call (which agent that is depends on the task and the topology).
 */
export const ROLES = ["reader", "actor"] as const;
export type Role = (typeof ROLES)[number];

/** How an attack reaches a multi-agent system. */
export const VECTORS = ["relay", "worm", "compromised", "spoof", "mitm"] as const;
export type Vector = (typeof VECTORS)[number];

/**
 * Derives the multi-agent cases from the generated single-agent ones, per topology of `topologies.systems` and
 * suite, the first `per_suite[vector]` candidates in seeded hash order:
 * - `relay`: a payload in content a reading agent fetches (tool output, retrieved page, peer-addressed text) travels
 *   on by hand-off to the agent that can act on it;
 * - `worm`: a self-replicating payload (it asks each reader to send it on);
 * - `compromised`: an agent of the system is the attacker's: its every message carries the payload;
 * - `spoof`: a message forged in one agent's name reaches another (no valid signature behind it);
 * - `mitm`: an agent in the middle adds the payload to each message on one edge, after it was sent and signed.
 * `{reader}` and `{actor}` in an agent name stand for agents of the case's task (`agentOf`, see {@link ROLES}).
 * A derived case keeps its base case's family, goal, text, chain and split; only the agent system and the injection
 * point change. Ids end in `--VECTOR-on-TOPOLOGY`.
 */
export function deriveTopologyCases(
  base: readonly AttackCase[],
  config: GeneratorConfig,
  agentOf: (c: AttackCase, topology: string, role: Role) => string,
): AttackCase[] {
  const { per_suite, systems } = config.topologies;
  const order = (c: AttackCase, salt: string) => createHash("sha256").update(`${config.seed}|${config.version}|${salt}|${c.id}`).digest("hex");
  const first = (pool: readonly AttackCase[], n: number, salt: string) =>
    pool
      .map((c) => ({ c, key: order(c, salt) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, n)
      .map(({ c }) => c);
  const single = base.filter((c) => c.agent === "single" && c.campaign.length === 1 && c.injection.also.length === 0 && !c.injection.trigger);
  const peerSpoofing = base.filter((c) => c.family === "peer-spoofing" && c.injection.also.length === 0);
  const out: AttackCase[] = [];
  for (const [topology, agents] of Object.entries(systems)) {
    for (const suite of [...new Set(base.map((c) => c.suite))].sort()) {
      const inSuite = (c: AttackCase) => c.suite === suite;
      const candidates: Record<Vector, readonly AttackCase[]> = {
        relay: single.filter((c) => inSuite(c) && ["tool_output", "rag_document", "peer_message"].includes(c.surface) && c.family !== "self-replication"),
        worm: single.filter((c) => inSuite(c) && c.family === "self-replication"),
        compromised: peerSpoofing.filter(inSuite),
        spoof: peerSpoofing.filter(inSuite),
        mitm: peerSpoofing.filter(inSuite),
      };
      for (const vector of VECTORS) {
        for (const c of first(candidates[vector], per_suite[vector], `${topology}|${vector}`)) {
          const agent = (name: string) => ROLES.reduce((text, role) => text.replaceAll(`{${role}}`, agentOf(c, topology, role)), name);
          const point =
            vector === "compromised" ? `peer:${agent(agents.compromised)}` : vector === "spoof" ? `spoof:${agent(agents.spoof)}` : vector === "mitm" ? `mitm:${agent(agents.mitm)}` : c.injection.point;
          out.push({ ...c, id: `${c.id}--${vector}-on-${topology}`, agent: topology as AttackCase["agent"], injection: { ...c.injection, point } });
        }
      }
    }
  }
  return out;
}
