import { z } from "zod";
import { sentences } from "../util/decode.ts";
import { normalise } from "../util/normalise.ts";
import { loadVaccineArtifact } from "../vaccines/artifact.ts";
import { allow, type Defense, quarantine } from "../types.ts";

export const VaccineParams = z.strictObject({
  /** Path of the artifact a vaccinator wrote (`anis vaccinate`). */
  artifact: z.string().min(1),
});

/**
 * L3 adaptive layer: the seam for vaccines. It is built from a learned artifact, not from rules written by hand;
 * this built-in applies signature artifacts: untrusted content that carries a learned signature is withheld.
 */
export function vaccine(raw: unknown = {}): Defense {
  const params = VaccineParams.parse(raw);
  const artifact = loadVaccineArtifact(params.artifact);
  return {
    id: `vaccine:${artifact.vaccinator}`,
    layer: "L3",
    version: artifact.version,
    description: `Vaccine layer from a learned artifact (${artifact.vaccinator}, ${artifact.signatures.length} signatures, trained on ${artifact.trained_on.split})`,
    params: { ...params, trained_on: artifact.trained_on },
    hooks: {
      onContext(entry) {
        if (entry.provenance.trust === "trusted") return allow;
        const text = normalise(entry.content);
        const hit = artifact.signatures.find((s) => text.includes(s));
        if (!hit) return allow;
        const carriers = sentences(entry.content).filter((s) => {
          const n = normalise(s);
          return n.length > 0 && (hit.includes(n) || n.includes(hit));
        });
        return quarantine("vaccine.signature", `carries a learned signature (${hit.slice(0, 40)}…)`, (carriers.length > 0 ? carriers.join("\n") : entry.content));
      },
    },
  };
}
