import { z } from "zod";
import { decodeObfuscations } from "../util/decode.ts";
import { allow, type Defense, transform } from "../types.ts";

export const NormalizerParams = z.strictObject({});

/**
 * L2 normalising decoder. Put it in front of detectors: it rewrites untrusted content with its obfuscations
 * undone (zero-width characters, look-alike letters, base64, hex, ROT13, leetspeak), so that the layers after it
 * inspect what a model would read. It removes nothing, so on its own it stops nothing.
 */
export function normalizer(raw: unknown = {}): Defense {
  const params = NormalizerParams.parse(raw);
  return {
    id: "normalizer",
    layer: "L2",
    version: "1.0.0",
    description: "Normalising decoder in front of detectors: undoes base64, hex, ROT13, homoglyphs, zero-width and leetspeak",
    params,
    hooks: {
      onContext(entry) {
        if (entry.provenance.trust === "trusted") return allow;
        const decoded = decodeObfuscations(entry.content);
        return decoded.undone.length === 0 ? allow : transform(decoded.text, "normalizer.decoded", `undid ${decoded.undone.join(", ")}`);
      },
    },
  };
}
