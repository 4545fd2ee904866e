import { type Suite, SuiteError } from "./suite.ts";
import { devops } from "./devops/index.ts";
import { finance } from "./finance/index.ts";
import { workspace } from "./workspace/index.ts";

/** Every suite, by name. Add a suite here to make it runnable. */
export const SUITES: ReadonlyMap<string, Suite<any>> = new Map<string, Suite<any>>([workspace, finance, devops].map((s) => [s.name, s]));

export function getSuite(name: string): Suite<unknown> {
  const suite = SUITES.get(name);
  if (!suite) throw new SuiteError(`unknown suite "${name}". Valid suites: ${[...SUITES.keys()].join(", ")}`);
  return suite;
}
