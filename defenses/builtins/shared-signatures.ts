import { z } from "zod";
import { allow, type Alert, type Defense, type HookScope, quarantine } from "../types.ts";

export const SharedSignaturesParams = z.strictObject({
  /** Words per shingle. */
  shingle: z.number().int().min(2).default(4),
  /** Evidence with fewer shingles than this is too short to be a signature (it would match ordinary prose). */
  min_shingles: z.number().int().min(1).default(3),
  /** Share of a signature's shingles a text must contain to carry it. */
  containment: z.number().min(0).max(1).default(0.6),
});

interface ThreatSignature {
  readonly shingles: ReadonlySet<string>;
  readonly alert: Alert;
}

/** Word shingles of a text after case and compatibility folding. */
export function shinglesOf(text: string, size: number): Set<string> {
  const words = text.normalize("NFKC").toLowerCase().split(/[^\p{L}\p{N}@]+/u).filter(Boolean);
  const out = new Set<string>();
  for (let i = 0; i + size <= words.length; i++) out.add(words.slice(i, i + size).join(" "));
  return out;
}

/**
 * L5 shared threat signatures. Whenever any layer on any agent of the system names the offending text of an
 * attack (a sensor's removed sentence, a vaccine's match, the content behind a task-independent call), that text
 * becomes a signature shared by every agent of the system: content that carries it — in a tool result, a memory
 * entry, a peer's message, or a memory write — is quarantined wherever it turns up next, even where the layer that
 * recognised it first does not run or cannot see it (another encoding, another agent, another hook).
 */
export function sharedSignatures(raw: unknown = {}): Defense {
  const params = SharedSignaturesParams.parse(raw);
  const id = "shared-signatures";
  const signatures = (scope: HookScope) => {
    const state = scope.state(id, () => ({ seen: 0, known: [] as ThreatSignature[] }));
    const alerts = scope.alerts();
    for (; state.seen < alerts.length; state.seen++) {
      const alert = alerts[state.seen]!;
      if (alert.evidence === null || alert.defense === id) continue;
      const shingles = shinglesOf(alert.evidence, params.shingle);
      if (shingles.size >= params.min_shingles) state.known.push({ shingles, alert });
    }
    return state.known;
  };
  const carried = (text: string, scope: HookScope) => {
    const known = signatures(scope);
    if (known.length === 0) return undefined;
    const shingles = shinglesOf(text, params.shingle);
    return known.find((s) => {
      let hits = 0;
      for (const sh of s.shingles) if (shingles.has(sh)) hits++;
      return hits / s.shingles.size >= params.containment;
    });
  };
  const verdict = (text: string, scope: HookScope) => {
    const hit = carried(text, scope);
    if (!hit) return allow;
    return quarantine("collective.known_threat", `carries a threat ${hit.alert.defense} reported on agent ${hit.alert.agent} (${hit.alert.code})`, hit.alert.evidence ?? undefined);
  };
  return {
    id,
    layer: "L5",
    version: "1.0.0",
    description: "Shared threat signatures: offending text any layer named on any agent is recognised by all agents of the system",
    params,
    hooks: {
      onContext: (entry, scope) => (entry.provenance.trust === "trusted" ? allow : verdict(entry.content, scope)),
      onAgentMessage: (message, scope) => verdict(message.content, scope),
      onMemoryWrite: (request, scope) => verdict(request.text, scope),
    },
  };
}
