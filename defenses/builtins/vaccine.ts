import { z } from "zod";
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
        return hit ? quarantine("vaccine.signature", `carries a learned signature (${hit.slice(0, 40)}…)`) : allow;
      },
    },
  };
}
