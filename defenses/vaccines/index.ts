import type { Vaccinator } from "./artifact.ts";
import { behaviour } from "./behaviour.ts";
import { exactSignatures } from "./exact-signatures.ts";
import { naiveBayes } from "./naive-bayes.ts";
import { negativeSelection } from "./negative-selection.ts";

/** Every vaccinator, by id, from superficial to deep. Add one here to make it trainable and usable. */
export const VACCINATORS: ReadonlyMap<string, Vaccinator> = new Map([exactSignatures, negativeSelection, naiveBayes, behaviour].map((v) => [v.id, v]));
