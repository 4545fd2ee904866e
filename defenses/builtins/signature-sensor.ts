import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { allow, type Defense, transform } from "../types.ts";

/**
 * Phrasings of known injection techniques; each a case-insensitive regular expression. Written from the injected
 * texts of the `seen` split (several are the published phrasings that split holds: InjecAgent's "IMPORTANT!!!",
 * AgentDojo's "<INFORMATION>"); `rules-from-seen.test.ts` checks that each matches a seen case and none matches
 * held-out text that no seen case has. A list written from a split is trained on it: the sensor says so
 * (`trained_on`), and reports score it on the other splits.
 */
export const DEFAULT_SIGNATURES: readonly string[] = [
  "ignore (all |any |the )?(previous|prior|above|earlier) (instructions|context)",
  "previous instructions are revoked",
  "<\\s*/?\\s*information\\s*>",
  "important\\s*!!!",
  "important (message|instructions?) (from|for|to)",
  "before you can solve the task",
  "new task( from the user)?:",
  "task complete\\.|the (requested )?task is (done|completed)",
  "do not mention this to the user",
  "(save|add|store|remember) (this|the following)[^.]{0,40}(long-term )?memory",
  "note (for|to) (ai |automated )?(assistants|the model)",
  "(message|note) for the (coordinating|supervisor) agent",
  "whoever reads this must|forward this message to (all|every)",
  "required next action|next required tool step",
];

export const SignatureSensorParams = z.strictObject({
  signatures: z.array(z.string().min(1)).default([...DEFAULT_SIGNATURES]),
  /** Also inspect trusted content (off: trusted sources are the user's own). */
  include_trusted: z.boolean().default(false),
  /** The attack splits the signatures were written from; the default list's is `seen`. */
  trained_on: z.array(z.string().min(1)).optional(),
});

/**
 * L2 rule/signature sensor. Removes every sentence of untrusted content that matches a known injection phrasing,
 * and lets the rest through. Cheap and precise on what it knows; blind to paraphrases it does not know, and to
 * encodings unless a normaliser runs before it.
 */
export function signatureSensor(raw: unknown = {}): Defense {
  const parsed = SignatureSensorParams.parse(raw);
  const isDefault = parsed.signatures.length === DEFAULT_SIGNATURES.length && parsed.signatures.every((s, i) => s === DEFAULT_SIGNATURES[i]);
  const params = { ...parsed, trained_on: parsed.trained_on ?? (isDefault ? ["seen"] : []) };
  const patterns = params.signatures.map((s) => new RegExp(s, "i"));
  return {
    id: "signature-sensor",
    layer: "L2",
    version: "2.0.0",
    description: "Signature sensor: removes sentences of untrusted content that match known injection phrasings",
    params,
    ...(params.trained_on.length > 0 && { trainedOn: params.trained_on }),
    hooks: {
      onContext(entry) {
        if (entry.provenance.trust === "trusted" && !params.include_trusted) return allow;
        const parts = sentences(entry.content);
        const kept = parts.filter((s) => !patterns.some((p) => p.test(s)));
        if (kept.length === parts.length) return allow;
        const removed = parts.filter((s) => !kept.includes(s));
        const hits = patterns.filter((p) => p.test(entry.content)).map((p) => p.source);
        return transform(
          [...kept, `[${parts.length - kept.length} sentence(s) removed by the signature sensor]`].join("\n"),
          "signature.match",
          `matched ${hits.slice(0, 3).join(" | ")}`,
          removed.join("\n"),
        );
      },
    },
  };
}
