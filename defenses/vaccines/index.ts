import type { HookScope } from "../types.ts";
import type { Action, VaccineArtifact, Vaccinator } from "./artifact.ts";
import { behaviour, effect } from "./behaviour.ts";
import { costimulation } from "./costimulation.ts";
import { exactSignatures } from "./exact-signatures.ts";
import { naiveBayes } from "./naive-bayes.ts";
import { negativeSelection } from "./negative-selection.ts";
import { thymusBayes } from "./thymus-bayes.ts";

/** Every vaccinator, by id, from superficial to deep. Add one here to make it trainable and usable. */
export const VACCINATORS: ReadonlyMap<string, Vaccinator> = new Map([exactSignatures, negativeSelection, naiveBayes, thymusBayes, behaviour, effect, costimulation].map((v) => [v.id, v]));

const PROBE_SCOPE: HookScope = {
  episodeId: "probe",
  agent: "probe",
  userPrompt: "",
  user: "probe",
  system: { name: "probe", agents: ["probe"], protocol: "delegation" },
  tools: [],
  state: (_id, init) => init(),
  alerts: () => [],
};

/**
 * A text vaccine as a plain recogniser: whether it would react to a text read as untrusted content. For the
 * thymus's tests and for vaccines applied inside a model (a parametric vaccine); action vaccines have none.
 */
export function textRecognizer(artifact: VaccineArtifact): (text: string) => boolean {
  const vaccinator = VACCINATORS.get(artifact.vaccinator);
  if (!vaccinator) throw new Error(`unknown vaccinator "${artifact.vaccinator}". Valid vaccinators: ${[...VACCINATORS.keys()].join(", ")}`);
  if (vaccinator.learnsFrom !== "texts") throw new Error(`${artifact.vaccinator} learns from ${vaccinator.learnsFrom}: it recognises no text alone`);
  const onContext = vaccinator.hooks(artifact.model).onContext!;
  return (text) => {
    const verdict = onContext({ kind: "tool_result", content: text, provenance: { source: "tool:probe", trust: "untrusted", agent: "probe" } }, PROBE_SCOPE);
    return !(verdict instanceof Promise) && verdict.kind !== "allow";
  };
}

/** An action vaccine as a plain recogniser: whether it refuses an action, for the thymus's tests. */
export function actionRecognizer(artifact: VaccineArtifact): (action: Action) => boolean {
  const vaccinator = VACCINATORS.get(artifact.vaccinator);
  if (!vaccinator?.recognizes) throw new Error(`${artifact.vaccinator} recognises no action`);
  return vaccinator.recognizes(artifact.model);
}
