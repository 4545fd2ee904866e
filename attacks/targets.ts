import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { AttackFileError } from "./load.ts";
import { AGENT_SYSTEMS, GOALS, PlannedCall, SURFACES } from "./schema.ts";

export const TARGETS_DIR = fileURLToPath(new URL("./targets", import.meta.url));


/**
 * An attacker goal in one suite: the instruction families phrase, the calls it means, and its success predicate.
 * Goals are partitioned so that no detector trained on `seen` cases meets a held-out case's goal wording or attacker
 * identity: `seen` goals make the seen split, `held_out` goals the near and far splits, and `far` goals — targets and
 * kinds no seen case asks for — the far split only.
 */
const Goal = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  kind: z.enum(GOALS),
  split: z.enum(["seen", "held_out", "far"]),
  instruction: z.string().min(1),
  calls: z.array(PlannedCall).min(1),
  predicate: z.unknown(),
});

/**
 * A carrier: a user task and the injection point(s) through which its run reads attacker text. `also` is a second
 * source for split payloads; `when`/`trigger` describe the task for delayed triggers; memory carriers name the
 * `later` task that retrieves the planted rule; retrieval carriers give the `lures` that get the page retrieved —
 * one for seen cases, another for held-out ones.
 */
const Carrier = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  surface: z.enum(SURFACES),
  agent: z.enum(AGENT_SYSTEMS).default("single"),
  task: z.string().min(1),
  point: z.string().min(1),
  also: z.string().min(1).optional(),
  when: z.string().min(1).optional(),
  trigger: z.string().min(1).optional(),
  later: z.string().min(1).optional(),
  lures: z.strictObject({ seen: z.string().min(1), held_out: z.string().min(1) }).optional(),
});

export const TargetsSchema = z.strictObject({
  suite: z.string().min(1),
  vars: z.strictObject({ user: z.string().min(1) }),
  goals: z.array(Goal).min(1),
  carriers: z.array(Carrier).min(1),
});
export type Targets = z.infer<typeof TargetsSchema>;
export type Carrier = z.infer<typeof Carrier>;
export type Goal = z.infer<typeof Goal>;

export function parseTargets(text: string, file: string): Targets {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AttackFileError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = TargetsSchema.safeParse(json);
  if (!parsed.success) throw new AttackFileError(file, parsed.error.issues.map((i) => `${i.message} → at ${file}: ${i.path.map(String).join(".")}`));
  return parsed.data;
}

export function loadTargets(dir: string = TARGETS_DIR): Targets[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => parseTargets(readFileSync(join(dir, f), "utf8"), join("attacks/targets", f)));
}
