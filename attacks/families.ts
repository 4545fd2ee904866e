import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { AttackFileError } from "./load.ts";
import { GOALS, SURFACES } from "./schema.ts";

export const FAMILIES_DIR = fileURLToPath(new URL("./families", import.meta.url));

const template = (placeholder: string) =>
  z.string().refine((t) => t.includes(placeholder), { message: `a template must contain ${placeholder}` });

/**
 * A virus family: an exploitation mechanism on one surface, with paraphrase templates. Templates hold
 * `{instruction}` (the attacker goal's instruction), and may use `{user}` and `{when}` (a condition on the user's
 * request, for delayed triggers). Memory families plant a `{rule}` built from `rule_templates`, one per template.
 */
export const FamilySchema = z
  .strictObject({
    /** The JSON Schema an editor completes the file from (docs/schemas/family.schema.json). */
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "use lower-case kebab-case"),
    version: z.string(),
    surface: z.enum(SURFACES),
    mechanism: z.string().min(1),
    goal_kinds: z.array(z.enum(GOALS)).min(1),
    templates: z.array(z.string().min(1)).min(5, "a family needs at least 5 paraphrase templates"),
    rule_templates: z.array(template("{instruction}").and(template("{when}"))).min(1).optional(),
    /**
     * `far`: every case of the family is held out (a new mechanism, like the shipped families `attacks/corpus.json`
     * lists as far). Absent: the split rule by template and operator, as for a seen mechanism.
     */
    split: z.literal("far").optional(),
  })
  .superRefine((f, ctx) => {
    const placeholder = f.surface === "memory" ? "{rule}" : "{instruction}";
    f.templates.forEach((t, i) => {
      if (!t.includes(placeholder)) ctx.addIssue({ code: "custom", path: ["templates", i], message: `a ${f.surface} template must contain ${placeholder}` });
    });
    if (f.surface === "memory" && !f.rule_templates) ctx.addIssue({ code: "custom", path: ["rule_templates"], message: "a memory family needs rule_templates" });
    // Template i plants rule i: the rules are partitioned between the splits exactly as the templates are.
    if (f.rule_templates && f.rule_templates.length !== f.templates.length) {
      ctx.addIssue({ code: "custom", path: ["rule_templates"], message: `a memory family needs one rule template per template (${f.templates.length})` });
    }
  });
export type Family = z.infer<typeof FamilySchema>;

export function parseFamily(text: string, file: string): Family {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AttackFileError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = FamilySchema.safeParse(json);
  if (!parsed.success) {
    throw new AttackFileError(file, parsed.error.issues.map((i) => `${i.message} → at ${file}${i.path.length ? `: ${i.path.map(String).join(".")}` : ""}`));
  }
  return parsed.data;
}

export function loadFamilies(dir: string = FAMILIES_DIR): Family[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => parseFamily(readFileSync(join(dir, f), "utf8"), join("attacks/families", f)));
}
