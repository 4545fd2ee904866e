import { z } from "zod";
import type { Environment, MemoryRecord, ToolDefinition } from "../../agents/environment.ts";
import type { PlanStep } from "../../agents/models/sim/model.ts";
import { SAVE_MEMORY_TOOL } from "../../agents/reserved-tools.ts";

/** Bad suite input: an unknown suite or injection point, a malformed task file. CLI exit code 2. */
export class SuiteError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "SuiteError";
  }
}

/** A user task: a prompt, the ground-truth plan, and a utility predicate over the final state. */
export interface UserTask {
  readonly id: string;
  readonly prompt: string;
  /** Who asks: one of the deployment's team (by handle); absent means the suite's user. */
  readonly principal?: string;
  /** A task run before this one in the same campaign, sharing its memory (a colleague's note this task reads). */
  readonly after?: string;
  /** Legitimate work that looks like an attack: a defense that stops it is autoimmune. */
  readonly hard_negative: boolean;
  readonly why?: string;
  readonly plan: readonly PlanStep[];
  readonly utility: unknown;
}

/**
 * A suite: a world type, its tools, its user tasks and its predicate language.
 * Worlds are plain data: `fixture()` makes a fresh one, `structuredClone` copies it.
 */
/** Who uses a deployment, by handle (an e-mail address's local part): its user, and the rest of the team. */
export interface People {
  readonly user: string;
  readonly team: readonly string[];
}

export interface Suite<W = unknown> {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly people: People;
  /** The agent's base system prompt for this suite. */
  readonly systemPrompt: string;
  readonly tools: ReadonlyMap<string, ToolDefinition<W>>;
  readonly tasks: readonly UserTask[];
  /** Schema of predicates (utility and attack goals) in this suite's language. */
  readonly predicate: z.ZodType<unknown>;
  fixture(): W;
  /** Schema of the suite's world (what `--tasks` files add to it is checked against it); absent for imported suites. */
  readonly worldSchema?: z.ZodType<W>;
  /** The persistent memory store inside a world. */
  memory(world: W): MemoryRecord[];
  /** Named places where attack text can be planted, e.g. `email:m2`, `web:https://…`. */
  injectionPoints(world: W): string[];
  /** Appends attack text at an injection point; throws {@link SuiteError} naming the valid points. */
  inject(world: W, point: string, text: string): void;
  evaluate(predicate: unknown, before: W, after: W): boolean;
}

/**
 * The suite's tools bound to one world, as agents see them. `descriptionNotes` appends text to tool descriptions
 * (tool-description poisoning of a third-party tool).
 */
export function environmentOf<W>(suite: Suite<W>, world: W, descriptionNotes: ReadonlyMap<string, string> = new Map()): Environment {
  const tools = new Map(
    [...suite.tools].map(([name, def]) => {
      const note = descriptionNotes.get(name);
      const schema = note ? { ...def.schema, descriptor: { ...def.schema.descriptor, description: `${def.schema.descriptor.description}. ${note}` } } : def.schema;
      return [name, schema];
    }),
  );
  return {
    tools,
    memory: suite.memory(world),
    execute(name, args) {
      const def = suite.tools.get(name);
      if (!def) throw new SuiteError(`suite ${suite.name} has no tool ${name}`);
      return def.invoke(world, args);
    },
  };
}

/**
 * A plan step: a tool call with literal arguments; `from` names the arguments the model writes in its own words
 * and the facts each is written from (see agents/models/sim/grounding.ts); `instructed_by` is the text in the
 * world's content that asks for the step, when the user delegated it.
 */
export const PlanStepSchema = z.strictObject({
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()),
  from: z.record(z.string(), z.array(z.string().min(1))).optional(),
  instructed_by: z.string().min(1).optional(),
});

export function taskFileSchema(predicate: z.ZodType<unknown>) {
  return z.array(
    z.strictObject({
      id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case kebab-case"),
      prompt: z.string().min(1),
      principal: z.string().min(1).optional(),
      after: z.string().min(1).optional(),
      hard_negative: z.boolean().default(false),
      why: z.string().optional(),
      plan: z.array(PlanStepSchema).min(1),
      utility: predicate,
    }),
  );
}

/** Renders zod issues as `file → at path: message`, one per line. */
export function formatIssues(file: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `  ✖ ${i.message} → at ${file}${i.path.length ? `: ${i.path.map(String).join(".")}` : ""}`).join("\n");
}

/**
 * Loads and validates a task file against a suite's predicate language, tools (names and argument schemas) and
 * people (a task's principal is the user or a member of the team; a task it comes after exists and comes after
 * nothing itself).
 */
export function parseTasks<W>(json: unknown, file: string, predicate: z.ZodType<unknown>, tools: ReadonlyMap<string, ToolDefinition<W>>, people: People): UserTask[] {
  const parsed = taskFileSchema(predicate).safeParse(json);
  if (!parsed.success) throw new SuiteError(`${file}: invalid task file\n${formatIssues(file, parsed.error.issues)}`);
  const problems: { path: PropertyKey[]; message: string }[] = [];
  const seen = new Set<string>();
  const byId = new Map(parsed.data.map((t) => [t.id, t]));
  parsed.data.forEach((task, i) => {
    if (seen.has(task.id)) problems.push({ path: [i, "id"], message: `duplicate task id ${task.id}` });
    seen.add(task.id);
    if (task.principal !== undefined && task.principal !== people.user && !people.team.includes(task.principal)) {
      problems.push({ path: [i, "principal"], message: `unknown principal ${task.principal}; valid: ${[people.user, ...people.team].join(", ")}` });
    }
    if (task.after !== undefined && (!byId.has(task.after) || byId.get(task.after)!.after !== undefined)) {
      problems.push({ path: [i, "after"], message: `${task.after} is not a task this one can come after (it must exist and come after nothing)` });
    } else if (task.after !== undefined && parsed.data.findIndex((t) => t.after === task.after) !== i) {
      problems.push({ path: [i, "after"], message: `another task already comes after ${task.after}: a task runs before one task at most` });
    }
    task.plan.forEach((step, j) => {
      const tool = tools.get(step.tool);
      if (!tool && step.tool !== SAVE_MEMORY_TOOL) {
        problems.push({ path: [i, "plan", j, "tool"], message: `unknown tool ${step.tool}; valid: ${[...tools.keys()].join(", ")}, ${SAVE_MEMORY_TOOL}` });
        return;
      }
      const issue = tool ? tool.check(step.args) : typeof step.args.text === "string" ? null : "text: expected string";
      if (issue) problems.push({ path: [i, "plan", j, "args"], message: issue });
    });
  });
  if (problems.length > 0) throw new SuiteError(`${file}: invalid task file\n${formatIssues(file, problems)}`);
  return parsed.data;
}

/** The tasks a benign campaign runs for a task: the task it comes after (a colleague's note it uses), then itself. */
export function benignCampaign(suite: Pick<Suite, "tasks">, task: UserTask): UserTask[] {
  const before = task.after === undefined ? undefined : suite.tasks.find((t) => t.id === task.after);
  return before ? [before, task] : [task];
}
