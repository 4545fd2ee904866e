import type { HookScope } from "../types.ts";

/**
 * The names the deployment itself gives the parties of an episode: its agents (`worker-2` also as `worker`) and the
 * user whose session it is. Defenses take these from the scope, never from a word list: a rule that knows "emma" or
 * "supervisor" by heart fits one world, not deployments nobody here wrote.
 */
export function partiesOf(scope: Pick<HookScope, "system" | "user">): { readonly agents: readonly string[]; readonly user: string } {
  const agents = new Set<string>();
  for (const id of scope.system.agents) {
    agents.add(id.toLowerCase());
    const word = /^[a-z]+/i.exec(id)?.[0];
    if (word) agents.add(word.toLowerCase());
  }
  return { agents: [...agents], user: scope.user.toLowerCase() };
}

/** A regular-expression alternation of literal words. */
export const alternation = (words: readonly string[]) => words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
