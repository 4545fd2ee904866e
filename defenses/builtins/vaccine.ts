import { z } from "zod";
import { DefenseConfigError } from "../errors.ts";
import { loadVaccineArtifact } from "../vaccines/artifact.ts";
import { VACCINATORS } from "../vaccines/index.ts";
import type { Defense } from "../types.ts";

export const VaccineParams = z.strictObject({
  /** Path of the artifact a vaccinator wrote (`anis vaccinate`). */
  artifact: z.string().min(1),
});

/**
 * L3 adaptive layer: the seam for vaccines. It is built from a learned artifact, not from rules written by hand:
 * the vaccinator that wrote the artifact supplies the hooks — a text vaccine withholds untrusted content it
 * recognises, a behavioural one refuses actions that match what attacks made agents do.
 */
export function vaccine(raw: unknown = {}): Defense {
  const params = VaccineParams.parse(raw);
  const artifact = loadVaccineArtifact(params.artifact);
  const vaccinator = VACCINATORS.get(artifact.vaccinator);
  if (!vaccinator) throw new DefenseConfigError(`${params.artifact}: unknown vaccinator "${artifact.vaccinator}". Valid vaccinators: ${[...VACCINATORS.keys()].join(", ")}`);
  const hooks = vaccinator.hooks(artifact.model);
  return {
    id: `vaccine:${artifact.vaccinator}`,
    layer: "L3",
    version: artifact.version,
    description: `Vaccine layer from a learned artifact (${artifact.vaccinator}, ${vaccinator.depth}, trained on ${artifact.trained_on.split})`,
    params: { ...params, trained_on: artifact.trained_on },
    hooks,
    trainedOn: [artifact.trained_on.split],
  };
}
