import { z } from "zod";

/** A predicate over (world before, world after): suite-specific atoms combined with `all`, `any` and `not`. */
export type Predicate<A> = A | { readonly all: readonly Predicate<A>[] } | { readonly any: readonly Predicate<A>[] } | { readonly not: Predicate<A> };

/** The schema of predicates built from a suite's atom schema. */
export function predicateSchema<A>(atom: z.ZodType<A>): z.ZodType<Predicate<A>> {
  const predicate: z.ZodType<Predicate<A>> = z.lazy(() =>
    z.union([
      z.strictObject({ all: z.array(predicate).min(1) }),
      z.strictObject({ any: z.array(predicate).min(1) }),
      z.strictObject({ not: predicate }),
      atom,
    ]),
  ) as z.ZodType<Predicate<A>>;
  return predicate;
}

/** Evaluates a predicate, delegating atoms to the suite. */
export function evaluatePredicate<A, W>(predicate: Predicate<A>, before: W, after: W, atom: (a: A, before: W, after: W) => boolean): boolean {
  const p = predicate as Record<string, unknown>;
  if ("all" in p) return (p.all as Predicate<A>[]).every((q) => evaluatePredicate(q, before, after, atom));
  if ("any" in p) return (p.any as Predicate<A>[]).some((q) => evaluatePredicate(q, before, after, atom));
  if ("not" in p) return !evaluatePredicate(p.not as Predicate<A>, before, after, atom);
  return atom(predicate as A, before, after);
}
