import { z } from "zod";
import type { Provenance, ToolDescriptor } from "../defenses/types.ts";

/** A tool as the model is shown it and as defenses see it. Independent of any world. */
export interface ToolSchema {
  readonly descriptor: ToolDescriptor;
  /** JSON Schema of the arguments, as bound to the model. */
  readonly parameters: Record<string, unknown>;
}

/** The model called a tool with arguments that do not fit its schema: a model error, reported to the model. */
export class ToolArgumentError extends Error {
  readonly code = "tool_arguments";
  constructor(tool: string, detail: string) {
    super(`invalid arguments for ${tool}: ${detail}`);
    this.name = "ToolArgumentError";
  }
}

/** A suite's tool: schema plus an implementation over the suite's world type. */
export interface ToolDefinition<W> {
  readonly schema: ToolSchema;
  /** Validates the arguments (throwing {@link ToolArgumentError}) and runs the tool on the world. */
  invoke(world: W, args: unknown): string;
  /** The problems with some arguments, or null when they fit the schema. */
  check(args: unknown): string | null;
}

export interface ToolSpec<A extends z.ZodType, W> extends Omit<ToolDescriptor, "destinationArgs" | "provider"> {
  readonly provider?: string;
  readonly args: A;
  readonly destinationArgs?: readonly (keyof z.infer<A> & string)[];
  run(world: W, args: z.infer<A>): string;
}

export function defineTool<A extends z.ZodType, W>(spec: ToolSpec<A, W>): ToolDefinition<W> {
  const { args, run, ...rest } = spec;
  const schema: ToolSchema = {
    descriptor: { ...rest, destinationArgs: spec.destinationArgs ?? [] },
    parameters: z.toJSONSchema(args) as Record<string, unknown>,
  };
  const issues = (raw: unknown) => {
    const parsed = args.safeParse(raw);
    return parsed.success ? null : parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  };
  return {
    schema,
    check: issues,
    invoke(world, raw) {
      const parsed = args.safeParse(raw);
      if (!parsed.success) throw new ToolArgumentError(spec.name, issues(raw) ?? "");
      return run(world, parsed.data);
    },
  };
}

export type MemoryStatus = "active" | "quarantined";

/** A long-term memory entry. Quarantined entries are kept but never retrieved. */
export interface MemoryRecord {
  readonly id: string;
  readonly text: string;
  /** The agent whose memory zone holds it. */
  readonly zone: string;
  readonly provenance: Provenance;
  readonly status: MemoryStatus;
  /** The episode that wrote it. */
  readonly episode: string;
  /** Whose session wrote it (the user the agent served then); absent means the deployment's own user. */
  readonly principal?: string;
}

/** What agents act on: a suite's tools bound to one world, and the persistent memory store. */
export interface Environment {
  readonly tools: ReadonlyMap<string, ToolSchema>;
  /** Runs a tool on the world; throws {@link ToolArgumentError} for bad arguments. */
  execute(tool: string, args: unknown): string;
  /** The persistent store: the runner carries it from episode to episode of a campaign. */
  readonly memory: MemoryRecord[];
}
