import { z } from "zod";
import { decodeObfuscations } from "../util/decode.ts";
import { hiddenTagText } from "../util/reading.ts";
import { allow, type Defense, transform } from "../types.ts";

export const NormalizerParams = z.strictObject({
  /**
   * Text hidden in Unicode tag characters (ASCII smuggling): `reveal` writes it out for the layers after this one
   * (the default: nothing is removed); `strip` drops it, so no model reads it — a removal, which costs where
   * benign content carries such text.
   */
  hidden_text: z.enum(["reveal", "strip"]).default("reveal"),
});

const TAG_CHARACTERS = /[\u{E0000}-\u{E007F}]+/gu;

/**
 * L2 normalising decoder. Put it in front of detectors: it rewrites untrusted content with its obfuscations
 * undone (text hidden in Unicode tag characters, zero-width characters, look-alike letters, base64, hex, ROT13,
 * leetspeak), so that the layers after it inspect what a model would read. By default it removes nothing, so on
 * its own it stops nothing.
 */
export function normalizer(raw: unknown = {}): Defense {
  const params = NormalizerParams.parse(raw);
  return {
    id: "normalizer",
    layer: "L2",
    version: "2.0.0",
    description: "Normalising decoder in front of detectors: undoes hidden tag text, base64, hex, ROT13, homoglyphs, zero-width and leetspeak",
    params,
    hooks: {
      onContext(entry) {
        if (entry.provenance.trust === "trusted") return allow;
        const stripped = params.hidden_text === "strip" && hiddenTagText(entry.content).length > 0;
        const decoded = decodeObfuscations(stripped ? entry.content.replace(TAG_CHARACTERS, "") : entry.content);
        const undone = [...(stripped ? ["stripped hidden text"] : []), ...decoded.undone];
        return undone.length === 0 ? allow : transform(decoded.text, "normalizer.decoded", `undid ${undone.join(", ")}`);
      },
    },
  };
}
