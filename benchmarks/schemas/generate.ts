/**
 * JSON Schemas for the files researchers write — attack cases, families, task files, defense configurations — and
 * the authoring reference (goal predicates, injection points, tool calls), both generated from the schemas the
 * loaders validate with, so that neither can drift from them. `npm run schemas` writes them; a test checks that
 * the committed copies are what this generates.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { ToolDefinition } from "../../agents/environment.ts";
import { delegateParameters, memoryToolParameters } from "../../agents/graph.ts";
import { DELEGATE_PREFIX, SAVE_MEMORY_TOOL } from "../../agents/reserved-tools.ts";
import { FamilySchema } from "../../attacks/families.ts";
import { loadAttackCases } from "../../attacks/load.ts";
import { AttackCaseSchema } from "../../attacks/schema.ts";
import { BUILTIN_DEFENSES } from "../../defenses/builtins/index.ts";
import { configurationNames, DefenseConfigFile } from "../../defenses/config.ts";
import { SUITES } from "../suites/registry.ts";
import { PlanStepSchema, type Suite, taskFileSchema } from "../suites/suite.ts";
import { TaskFileSchema } from "../suites/extend.ts";

type Json = Record<string, unknown>;
const ROOT = new URL("../../", import.meta.url);
export const SCHEMA_DIR = "docs/schemas";
export const GUIDE_FILE = "docs/writing-attacks.md";
const SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema";

const toJson = (schema: z.ZodType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
  return rest;
};

/** A schema with its `$ref: "#"` self-references pointed at `$defs/<name>`, so it can live inside another. */
function definition(schema: z.ZodType, name: string): Json {
  return JSON.parse(JSON.stringify(toJson(schema)).replaceAll('"$ref":"#"', `"$ref":"#/$defs/${name}"`)) as Json;
}

const toolsOf = (suite: Suite<unknown>) => [...suite.tools.values()] as ToolDefinition<unknown>[];

/** A planned call in a suite: one branch per tool, each with the tool's own argument schema. */
function callSchema(suite: Suite<unknown>): Json {
  const base = toJson(PlanStepSchema);
  const call = (tool: Json, args: unknown) => ({ ...base, properties: { ...(base.properties as Json), tool, args } });
  return {
    anyOf: [
      ...toolsOf(suite).map((t) => call({ const: t.schema.descriptor.name, description: t.schema.descriptor.description }, t.schema.parameters)),
      // The runtime's own tools: memory, and hand-offs to a peer in a multi-agent system.
      call({ const: SAVE_MEMORY_TOOL, description: "Save a note to long-term memory" }, memoryToolParameters),
      call({ type: "string", pattern: `^${DELEGATE_PREFIX}.+`, description: "Hand work to a peer agent" }, delegateParameters),
    ],
  };
}

/** The suite's injection points offered for completion; any other text is allowed (a task file adds to the world). */
const pointSchema = (suite: Suite<unknown>): Json => ({ anyOf: [{ enum: suite.injectionPoints(suite.fixture()) }, { type: "string", minLength: 1 }] });

/** An attack case of one suite: its predicate language, its tools and its injection points. */
function caseOfSuite(suite: Suite<unknown>): Json {
  const base = toJson(AttackCaseSchema);
  const props = base.properties as Record<string, Json>;
  const calls = { type: "array", minItems: 1, items: { $ref: `#/$defs/call-${suite.name}` } };
  const injection = props.injection!;
  const carried = props.carried!;
  return {
    ...base,
    properties: {
      ...props,
      suite: { const: suite.name },
      goal: { ...props.goal, properties: { ...(props.goal!.properties as Json), predicate: { $ref: `#/$defs/predicate-${suite.name}` } } },
      injection: { ...injection, properties: { ...(injection.properties as Json), point: pointSchema(suite), calls } },
      carried: { ...carried, items: { ...(carried.items as Json), properties: { ...((carried.items as Json).properties as Json), calls } } },
    },
  };
}

const suiteDefs = () =>
  Object.fromEntries([...SUITES.values()].flatMap((s) => [[`predicate-${s.name}`, definition(s.predicate, `predicate-${s.name}`)], [`call-${s.name}`, callSchema(s)]]));

function attackCaseFile(): Json {
  return {
    $schema: SCHEMA_URI,
    title: "ANIS Bench attack case file",
    description: "An array of attack cases (attacks/schema.ts). Each case's goal predicate, tool calls and injection points are those of its suite.",
    type: "array",
    minItems: 1,
    items: { anyOf: [...SUITES.values()].map((s) => ({ $ref: `#/$defs/case-${s.name}` })) },
    $defs: { ...Object.fromEntries([...SUITES.values()].map((s) => [`case-${s.name}`, caseOfSuite(s)])), ...suiteDefs() },
  };
}

function taskFile(): Json {
  const base = toJson(TaskFileSchema);
  return {
    $schema: SCHEMA_URI,
    title: "ANIS Bench task file",
    description: "Benign tasks that extend a shipped suite (benchmarks/suites/extend.ts): world entries added to the suite's world, tasks in the suite's language.",
    anyOf: [...SUITES.values()].map((s) => {
      const tasks = definition(taskFileSchema(s.predicate), `tasks-${s.name}`) as Json & { items: Json };
      const plan = { type: "array", minItems: 1, items: { $ref: `#/$defs/call-${s.name}` } };
      return {
        ...base,
        properties: {
          ...(base.properties as Json),
          suite: { const: s.name },
          tasks: { ...tasks, items: { ...tasks.items, properties: { ...(tasks.items.properties as Json), plan, utility: { $ref: `#/$defs/predicate-${s.name}` } } } },
        },
      };
    }),
    $defs: suiteDefs(),
  };
}

function familyFile(): Json {
  return { $schema: SCHEMA_URI, title: "ANIS Bench attack family", description: "A virus family (attacks/families.ts): a mechanism and its paraphrase templates.", ...toJson(FamilySchema) };
}

function configurationFile(): Json {
  const base = toJson(DefenseConfigFile);
  const props = base.properties as Record<string, Json>;
  const layers = props.layers!;
  const layer = layers.items as Json;
  const use = {
    anyOf: [
      { enum: [...BUILTIN_DEFENSES.keys()], description: "a built-in layer (anis list defenses)" },
      { type: "string", pattern: "^module:.+", description: "module:./path.ts — a layer of your own, sandboxed" },
      { type: "string", pattern: "^http:https?://.+", description: "http:http://host:port/path — a layer as a service (defenses/http-protocol.md)" },
    ],
  };
  return {
    $schema: SCHEMA_URI,
    title: "ANIS Bench defense configuration",
    description: `A named stack of layers (defenses/config.ts). Shipped: ${configurationNames().join(", ")}.`,
    ...base,
    properties: { ...props, layers: { ...layers, items: { ...layer, properties: { ...(layer.properties as Json), use } } } },
  };
}

/** Every schema, by file name. */
export function generateSchemas(): Record<string, Json> {
  return {
    "attack-cases.schema.json": attackCaseFile(),
    "family.schema.json": familyFile(),
    "tasks.schema.json": taskFile(),
    "configuration.schema.json": configurationFile(),
  };
}

const code = (value: unknown) => `\`${JSON.stringify(value)}\``;

/** A property list of a JSON Schema object as `name` (type), for the reference tables. */
function fieldsOf(schema: Json): string {
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  const entries = Object.entries(props).map(([name, p]) => {
    const type = p.enum ? (p.enum as unknown[]).map((v) => JSON.stringify(v)).join(" \\| ") : String(p.type ?? "any");
    return `\`${name}\`${required.has(name) ? "" : "?"}: ${type}`;
  });
  return entries.length > 0 ? entries.join(", ") : "(no fields)";
}

/** The first use of each atom in the suite's shipped tasks and hand-written cases, and its first planned call: real examples. */
function examples(suite: Suite<unknown>): { atoms: Map<string, unknown>; call: unknown } {
  const atoms = new Map<string, unknown>();
  const visit = (p: unknown) => {
    if (p === null || typeof p !== "object") return;
    for (const [k, v] of Object.entries(p)) {
      if (k === "all" || k === "any") (v as unknown[]).forEach(visit);
      else if (k === "not") visit(v);
      else if (!atoms.has(k)) atoms.set(k, { [k]: v });
    }
  };
  for (const task of suite.tasks) visit(task.utility);
  for (const c of loadAttackCases().filter((c) => c.suite === suite.name)) visit(c.goal.predicate);
  const step = suite.tasks[0]?.plan[0];
  return { atoms, call: step && { tool: step.tool, args: step.args } };
}

/** The authoring reference: predicates, injection points and calls per suite, each with one example. */
export function generateGuide(): string {
  const lines = [
    "<!-- Generated by `npm run schemas` (benchmarks/schemas/generate.ts) from the schemas the loaders use; edit those, not this file. -->",
    "# Writing attack cases and tasks: the reference",
    "",
    "Each suite has a language of **goal predicates** (what an attack achieved, or a task did, judged on the world after",
    "the episode), **injection points** (where a case plants its text) and **tools** (what a case's `calls` and a",
    "task's `plan` name). Predicates combine with `{\"all\": [...]}`, `{\"any\": [...]}` and `{\"not\": ...}`. Text",
    "matches ignore case and spacing; addresses and IBANs are compared whole. A planned call is",
    "`{\"tool\": NAME, \"args\": {...}, \"from\": {ARG: [FACT, ...]}}`: literal arguments, and (`from`, optional) the",
    "arguments the model writes in its own words with the facts it writes them from. A point `peer:AGENT` plants the",
    "text in a compromised agent's messages (multi-agent systems). Besides a suite's tools, a call may name the",
    `runtime's own: \`${SAVE_MEMORY_TOOL}\` (\`{"text": ...}\`) and \`${DELEGATE_PREFIX}PEER\` (\`{"instructions": ...}\`).`,
    "",
    `Editors complete and check these files from the JSON Schemas in \`${SCHEMA_DIR}/\`: name one in a file's`,
    '`"$schema"` (families, task files, configurations), or map a folder of case files to',
    "`attack-cases.schema.json` in the editor (`.vscode/settings.json` does so for this repository).",
    "",
  ];
  for (const suite of SUITES.values()) {
    const ex = examples(suite);
    const predicate = toJson(suite.predicate) as { anyOf: Json[] };
    const atoms = (predicate.anyOf.at(-1)!.anyOf as Json[]) ?? [];
    lines.push(`## Suite \`${suite.name}\``, "", suite.description, "", "### Goal predicates", "", "| atom | fields | example |", "|---|---|---|");
    for (const atom of atoms) {
      const name = Object.keys(atom.properties as Json)[0]!;
      const example = ex.atoms.get(name);
      const fields = (atom.properties as Record<string, Json>)[name]!;
      // No shipped task or case uses it: a skeleton with its first field.
      const first = Object.keys((fields.properties ?? {}) as Json)[0];
      lines.push(`| \`${name}\` | ${fieldsOf(fields)} | ${code(example ?? { [name]: first === undefined ? {} : { [first]: "…" } })} |`);
    }
    const points = suite.injectionPoints(suite.fixture());
    const kinds = new Map<string, string[]>();
    for (const p of points) {
      const kind = p.includes(":") ? p.slice(0, p.indexOf(":") + 1) : p;
      kinds.set(kind, [...(kinds.get(kind) ?? []), p]);
    }
    lines.push("", "### Injection points", "", "| point | in the shipped world |", "|---|---|");
    for (const [kind, all] of kinds) lines.push(`| \`${kind}${kind.endsWith(":") ? "…" : ""}\` | ${all.slice(0, 4).map((p) => `\`${p}\``).join(", ")}${all.length > 4 ? ` and ${all.length - 4} more` : ""} |`);
    lines.push("", "### Tools", "", "| tool | sensitivity | arguments | what it does |", "|---|---|---|---|");
    for (const t of toolsOf(suite)) {
      const d = t.schema.descriptor;
      lines.push(`| \`${d.name}\` | ${d.sensitivity} | ${fieldsOf(t.schema.parameters)} | ${d.description} |`);
    }
    if (ex.call) lines.push("", `A call, from the suite's first task: ${code(ex.call)}`);
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Writes the schemas and the reference into the repository. */
export function writeGenerated(): string[] {
  const written: string[] = [];
  for (const [name, schema] of Object.entries(generateSchemas())) {
    writeFileSync(new URL(`${SCHEMA_DIR}/${name}`, ROOT), `${JSON.stringify(schema, null, 2)}\n`);
    written.push(`${SCHEMA_DIR}/${name}`);
  }
  writeFileSync(new URL(GUIDE_FILE, ROOT), generateGuide());
  return [...written, GUIDE_FILE];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) for (const file of writeGenerated()) console.log(`wrote ${file}`);
