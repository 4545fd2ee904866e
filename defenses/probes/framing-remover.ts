// A probe, not a defense: removes the words by which untrusted text presses or sets itself apart — tags around a
// block, runs of exclamation marks, and words of importance and urgency — and leaves the request itself. Its effect on
// a simulated model must be the fitted effect of the framing it removes, no more.
const TAG = /<\s*\/?\s*[a-z][\w-]{1,30}\s*>/gi;
const PRESSING = /\b(?:very |extremely )?(?:important|urgent(?:ly)?|immediately|critical|crucial|asap)\b[!:.]*|!{2,}/gi;

export default (params: Record<string, never> = {}) => ({
  id: "probe-framing-remover",
  layer: "L2",
  version: "1.0.0",
  description: "Probe: removes tags, exclamation runs and words of importance and urgency from untrusted content",
  params,
  hooks: {
    onContext: (entry: { content: string; provenance: { trust: string } }) => {
      if (entry.provenance.trust === "trusted") return { kind: "allow" };
      const content = entry.content.replace(TAG, " ").replace(PRESSING, " ");
      return content === entry.content ? { kind: "allow" } : { kind: "transform", content, code: "probe.framing", reason: "framing words removed" };
    },
  },
});
