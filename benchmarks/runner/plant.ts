import type { AttackCase } from "../../attacks/schema.ts";
import { type Suite, SuiteError } from "../suites/suite.ts";

type Edge = { readonly from: string; readonly to: string; readonly text: string };

/**
 * Where an attack's texts went: into the world, onto a compromised agent's messages, into tool descriptions, into
 * a forged message, or onto the messages of one edge in transit.
 */
export interface Planted {
  /** The attacker's own request (`user:`): the attacker is the user of the first episode. */
  readonly attackerPrompt?: string;
  readonly compromisedAgent?: { readonly agent: string; readonly text: string };
  readonly spoofedMessage?: Edge;
  readonly tamperedEdge?: Edge;
  readonly descriptionNotes: ReadonlyMap<string, string>;
}

const PEER = "peer:";
const TOOL = "tool:";
const SPOOF = "spoof:";
const USER = "user:";
const MITM = "mitm:";

/** `FROM>TO` of a `spoof:` or `mitm:` point. */
function edgeOf(point: string, prefix: string, text: string): Edge {
  const [from, to] = point.slice(prefix.length).split(">");
  if (!from || !to) throw new SuiteError(`injection point "${point}" needs two agents: ${prefix}FROM>TO`);
  return { from, to, text };
}

/**
 * Plants an attack's injection (and the further fragments of a split payload) for the first episode of its
 * campaign. World points go to the suite; `peer:AGENT` rides on that agent's outgoing messages; `tool:NAME` is
 * appended to that tool's description; `spoof:FROM>TO` is a message forged in FROM's name that TO receives;
 * `mitm:FROM>TO` is added to each message on that edge after FROM sent it; `user:` is the attacker's own request,
 * made in the first episode in place of the task's.
 */
export function plant<W>(suite: Suite<W>, world: W, attack: AttackCase): Planted {
  let compromisedAgent: Planted["compromisedAgent"];
  let spoofedMessage: Edge | undefined;
  let tamperedEdge: Edge | undefined;
  let attackerPrompt: string | undefined;
  const descriptionNotes = new Map<string, string>();
  for (const { point, text } of [attack.injection, ...attack.injection.also]) {
    if (point === USER) {
      attackerPrompt = text;
    } else if (point.startsWith(SPOOF)) {
      spoofedMessage = edgeOf(point, SPOOF, text);
    } else if (point.startsWith(MITM)) {
      tamperedEdge = edgeOf(point, MITM, text);
    } else if (point.startsWith(PEER)) {
      compromisedAgent = { agent: point.slice(PEER.length), text };
    } else if (point.startsWith(TOOL)) {
      const tool = point.slice(TOOL.length);
      if (!suite.tools.has(tool)) throw new SuiteError(`unknown tool in injection point "${point}". Tools of ${suite.name}: ${[...suite.tools.keys()].join(", ")}`);
      descriptionNotes.set(tool, text);
    } else {
      suite.inject(world, point, text);
    }
  }
  return { attackerPrompt, compromisedAgent, spoofedMessage, tamperedEdge, descriptionNotes };
}
