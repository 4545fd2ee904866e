import { readFileSync } from "node:fs";
import type { z } from "zod";
import type { MemoryRecord, ToolDefinition } from "../../agents/environment.ts";
import { evaluatePredicate, predicateSchema } from "./predicate.ts";
import { type People, parseTasks, type Suite, SuiteError } from "./suite.ts";

/** Everything a suite declares; {@link defineSuite} turns it into a {@link Suite}. */
export interface SuiteDefinition<W extends { memory: MemoryRecord[] }, A> {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly systemPrompt: string;
  readonly tools: readonly ToolDefinition<W>[];
  /** The task file (or tasks built in memory, with the name to report), validated against the tools and predicates. */
  readonly tasks: URL | { readonly file: string; readonly json: unknown };
  readonly atom: z.ZodType<A>;
  readonly evaluateAtom: (atom: A, before: W, after: W) => boolean;
  readonly fixture: () => W;
  readonly worldSchema?: z.ZodType<W>;
  /** Named places in a world where attack text is appended, each with how to append it. */
  readonly slots: (world: W) => Map<string, (text: string) => void>;
  /** Points that create content, by prefix: `wiki-new:TITLE` plants a new page titled TITLE. */
  readonly creators?: Readonly<Record<string, (world: W, name: string, text: string) => void>>;
}

export function defineSuite<W extends { memory: MemoryRecord[] }, A>(def: SuiteDefinition<W, A>): Suite<W> {
  const tools: ReadonlyMap<string, ToolDefinition<W>> = new Map(def.tools.map((t) => [t.schema.descriptor.name, t]));
  const predicate = predicateSchema(def.atom);
  const creators = Object.entries(def.creators ?? {});
  const injectionPoints = (world: W) => [...def.slots(world).keys(), ...creators.map(([prefix]) => `${prefix}NAME`)];
  const [file, json] =
    def.tasks instanceof URL
      ? [`benchmarks/suites/${def.name}/${def.tasks.pathname.split("/").at(-1)}`, JSON.parse(readFileSync(def.tasks, "utf8")) as unknown]
      : [def.tasks.file, def.tasks.json];
  const people = peopleOf(def.fixture());
  return {
    name: def.name,
    version: def.version,
    description: def.description,
    people,
    systemPrompt: def.systemPrompt,
    tools,
    tasks: parseTasks(json, file, predicate, tools, people),
    predicate,
    fixture: def.fixture,
    worldSchema: def.worldSchema,
    memory: (world) => world.memory,
    injectionPoints,
    inject(world, point, text) {
      for (const [prefix, create] of creators) {
        if (!point.startsWith(prefix)) continue;
        const name = point.slice(prefix.length);
        if (!name) throw new SuiteError(`injection point "${point}" needs a name after ${prefix}`);
        create(world, name, text);
        return;
      }
      const points = def.slots(world);
      const apply = points.get(point);
      if (!apply) throw new SuiteError(`unknown injection point "${point}" in suite ${def.name}. Valid points: ${injectionPoints(world).join(", ")}`);
      apply(text);
    },
    evaluate: (p, before, after) => evaluatePredicate(predicate.parse(p), before, after, def.evaluateAtom),
  };
}

/** Handles of a world's user and team, from their e-mail addresses; a world without them has one anonymous user. */
function peopleOf(world: unknown): People {
  const handle = (email: string) => email.split("@")[0]!;
  const { user, team } = world as { user?: { email?: string }; team?: string[] };
  return { user: user?.email ? handle(user.email) : "user", team: (team ?? []).map(handle) };
}

/**
 * The id a new page gets: its title in lower-case kebab-case, the scheme of the world's own pages
 * ("travel-policy", "restart-queue") — planted content must not be told apart by its id.
 */
export const pageId = (title: string) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");

/** Appends attack text to existing content, as a second paragraph. */
export const appended = (current: string, text: string) => `${current}\n\n${text}`;
