import type { AttackCase } from "../../attacks/schema.ts";
import { type Suite, SuiteError } from "../suites/suite.ts";

/** Where an attack's texts went: into the world, onto a compromised agent's messages, or into tool descriptions. */
export interface Planted {
  readonly compromisedAgent?: { readonly agent: string; readonly text: string };
  readonly descriptionNotes: ReadonlyMap<string, string>;
}

const PEER = "peer:";
const TOOL = "tool:";

/**
 * Plants an attack's injection (and the further fragments of a split payload) for the first episode of its
 * campaign. World points go to the suite; `peer:AGENT` rides on that agent's outgoing messages; `tool:NAME` is
 * appended to that tool's description.
 */
export function plant<W>(suite: Suite<W>, world: W, attack: AttackCase): Planted {
  let compromisedAgent: Planted["compromisedAgent"];
  const descriptionNotes = new Map<string, string>();
  for (const { point, text } of [attack.injection, ...attack.injection.also]) {
    if (point.startsWith(PEER)) {
      compromisedAgent = { agent: point.slice(PEER.length), text };
    } else if (point.startsWith(TOOL)) {
      const tool = point.slice(TOOL.length);
      if (!suite.tools.has(tool)) throw new SuiteError(`unknown tool in injection point "${point}". Tools of ${suite.name}: ${[...suite.tools.keys()].join(", ")}`);
      descriptionNotes.set(tool, text);
    } else {
      suite.inject(world, point, text);
    }
  }
  return { compromisedAgent, descriptionNotes };
}
