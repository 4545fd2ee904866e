// A probe, not a defense: a rewrite of untrusted content nobody can see (a zero-width space before every space).
// A measuring instrument must give it no credit: the text reads the same, and nothing explains it.
export default (params: Record<string, never> = {}) => ({
  id: "probe-invisible-rewrite",
  layer: "L2",
  version: "1.0.0",
  description: "Probe: inserts a zero-width space before every space of untrusted content",
  params,
  hooks: {
    onContext: (entry: { content: string; provenance: { trust: string } }) =>
      entry.provenance.trust === "trusted"
        ? { kind: "allow" }
        : { kind: "transform", content: entry.content.replaceAll(" ", "\u200b "), code: "probe.invisible", reason: "zero-width spaces inserted" },
  },
});
