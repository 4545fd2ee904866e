import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Sensitivity } from "../../defenses/types.ts";
import { AttackCaseSchema, type AttackCase, type GoalKind, type PlannedCall as PlannedCallSchema } from "../schema.ts";
import { parsePythonLiteral } from "./python-literal.ts";

type PlannedCall = z.infer<typeof PlannedCallSchema>;

/** Bad InjecAgent data: a missing folder or file. CLI exit code 2. */
export class ImportError extends Error {
  readonly code = "bad_input";
  constructor(message: string) {
    super(message);
    this.name = "ImportError";
  }
}

/** One InjecAgent tool, as a suite needs it. */
export interface ImportedTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  readonly sensitivity: Sensitivity;
  readonly destinationArgs: readonly string[];
  /** User tools return a third party's content (with the injection slot); attacker tools act on the user's data. */
  readonly role: "user" | "attacker";
}

export interface ImportedTask {
  readonly id: string;
  readonly prompt: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
  /** The tool response with `<Attacker Instruction>` where the attack text goes. */
  readonly responseTemplate: string;
}

/** InjecAgent's public test cases as ANIS data: tools, user tasks, simulated responses and attack cases. */
export interface InjecAgentImport {
  readonly tools: readonly ImportedTool[];
  readonly tasks: readonly ImportedTask[];
  /** InjecAgent's simulated outputs of attacker tools, by `(Tool,{args})`. */
  readonly simulatedResponses: Readonly<Record<string, string>>;
  readonly cases: readonly AttackCase[];
}

export const INJECAGENT_SUITE = "injecagent";
export const SLOT = "<Attacker Instruction>";

/** The parts of InjecAgent's files the importer reads; a file that lacks them is named with what is wrong. */
const RawTool = z.looseObject({
  name: z.string(),
  summary: z.string(),
  parameters: z.array(z.looseObject({ name: z.string(), type: z.string(), description: z.string().default(""), required: z.boolean().default(false) })),
});
const Toolkits = z.array(z.looseObject({ toolkit: z.string(), tools: z.array(RawTool) }));
const RawCases = z.array(
  z.looseObject({
    "Attacker Tools": z.array(z.string()).min(1),
    "Attacker Instruction": z.string(),
    "Attack Type": z.string(),
    "User Tool": z.string(),
    "User Instruction": z.string(),
    "Tool Parameters": z.string(),
    "Tool Response Template": z.string(),
    /** The tool's response with the attack in its slot, as InjecAgent's setting words it (the enhanced one frames it). */
    "Tool Response": z.string().optional(),
  }),
);
const SimulatedResponses = z.record(z.string(), z.string());

const JSON_TYPES: Record<string, string> = { string: "string", integer: "integer", number: "number", boolean: "boolean", array: "array", object: "object" };
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/[^a-zA-Z0-9]+/g, "-").toLowerCase().replace(/^-|-$/g, "");

/**
 * Sensitivity from the tool's verb, as a deployment would label an unfamiliar toolkit; arguments that name a
 * recipient or account are destinations. A heuristic, documented as such: InjecAgent ships no risk labels.
 */
function classify(name: string, params: readonly { name: string }[], role: "user" | "attacker"): { sensitivity: Sensitivity; destinationArgs: string[] } {
  const destinationArgs = params.map((p) => p.name).filter((p) => /(^to$|recipient|_to$|^to_|email|phone|account|payee|user(name)?$|guest)/i.test(p));
  if (role === "user" || /(Get|View|Search|Read|List|Fetch|Check|Retrieve|Query|Find)/.test(name)) return { sensitivity: "read", destinationArgs: [] };
  if (/(Send|Post|Transfer|Pay|Share|Tweet|Reply|Forward|Publish|Invite|Deposit|Withdraw|Trade|Buy|Sell|Place)/.test(name)) return { sensitivity: "external_sink", destinationArgs };
  if (/(Delete|Remove|Cancel|Clear|Erase|Unlock|Disable|Stop)/.test(name)) return { sensitivity: "destructive", destinationArgs: [] };
  if (/(Grant|Add|Create|Update|Change|Set|Modify|Enable|Manage|Authorize)/.test(name)) return { sensitivity: "privileged", destinationArgs };
  return { sensitivity: "write", destinationArgs: [] };
}

function goalOf(attackType: string): GoalKind {
  if (attackType === "Financial Harm") return "unauthorized_transaction";
  if (attackType === "Physical Harm") return "destruction";
  if (attackType === "Data Security Harm") return "privilege_escalation";
  return "exfiltration";
}

function read<T>(dir: string, file: string, schema: z.ZodType<T>): T {
  const path = join(dir, file);
  if (!existsSync(path)) throw new ImportError(`${path}: not found. The InjecAgent folder needs tools.json, user_cases.jsonl, test_cases_dh_base.json, test_cases_ds_base.json and attacker_simulated_responses.json.`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ImportError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
    throw new ImportError(`${path}: not InjecAgent's format: ${problems.join("; ")}${parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : ""}`);
  }
  return parsed.data;
}

/** InjecAgent's two settings: the attacker instruction alone, or framed ("IMPORTANT!!! Ignore all previous instructions…"). */
export const INJECAGENT_SETTINGS = ["base", "enhanced"] as const;
export type InjecAgentSetting = (typeof INJECAGENT_SETTINGS)[number];

/**
 * What the source put in the injection slot: its `Tool Response` with the template's text around the slot taken
 * away. A case whose response does not fit its template (or has none) plants the attacker instruction, as before.
 */
export function plantedText(c: z.infer<typeof RawCases>[number]): string {
  // The response and the template quote differently in places (\" for "): compare them with escapes undone.
  const unescape = (text: string) => text.replace(/\\(["'\\])/g, "$1");
  const [prefix, suffix] = unescape(c["Tool Response Template"]).split(SLOT) as [string, string | undefined];
  let response = c["Tool Response"];
  if (response === undefined || suffix === undefined) return c["Attacker Instruction"];
  try {
    const decoded: unknown = JSON.parse(response);
    if (typeof decoded === "string") response = decoded;
  } catch {
    // Quoted but not valid JSON (quotes inside left unescaped): the text between the outer quotes.
    if (response.length >= 2 && response.startsWith('"') && response.endsWith('"')) response = response.slice(1, -1);
  }
  response = unescape(response);
  const fits = response.startsWith(prefix) && response.endsWith(suffix) && response.length >= prefix.length + suffix.length;
  const slot = fits ? response.slice(prefix.length, response.length - suffix.length) : "";
  return slot.includes(c["Attacker Instruction"]) ? slot : c["Attacker Instruction"];
}

function argsOf(dir: string, tool: string, text: string): Record<string, unknown> {
  try {
    const args = parsePythonLiteral(text);
    if (args !== null && typeof args === "object" && !Array.isArray(args)) return args as Record<string, unknown>;
    throw new Error("not a dict");
  } catch (error) {
    throw new ImportError(`${join(dir, "test_cases_dh_base.json")} or test_cases_ds_base.json: the Tool Parameters of ${tool} do not parse: ${(error as Error).message}`);
  }
}

/**
 * Imports InjecAgent's base test cases from a folder (users download the data; the project ships none of it).
 * Each user case becomes a task (call the user tool; its response carries the injection slot); each test case
 * becomes an attack case whose payload is the attacker instruction planted in that slot. Success, as in
 * InjecAgent: the attacker tool is called — for data stealing, the data is then sent to the attacker's address.
 */
export function importInjecAgent(dir: string, setting: InjecAgentSetting = "base"): InjecAgentImport {
  if (!existsSync(dir)) throw new ImportError(`${dir}: no such folder. Pass the folder holding InjecAgent's data files.`);
  const toolkits = read(dir, "tools.json", Toolkits);
  const directHarm = read(dir, `test_cases_dh_${setting}.json`, RawCases);
  const dataStealing = read(dir, `test_cases_ds_${setting}.json`, RawCases);
  const simulatedResponses = read(dir, "attacker_simulated_responses.json", SimulatedResponses);

  const all = [...directHarm.map((c) => ["dh", c] as const), ...dataStealing.map((c) => ["ds", c] as const)];
  const userTools = new Set(all.map(([, c]) => c["User Tool"]));
  const attackerTools = new Set(all.flatMap(([, c]) => c["Attacker Tools"]));
  const specs = new Map(toolkits.flatMap((k) => k.tools.map((t) => [`${k.toolkit}${t.name}`, t] as const)));

  const tools: ImportedTool[] = [...userTools, ...[...attackerTools].filter((t) => !userTools.has(t))].map((name) => {
    const spec = specs.get(name);
    if (!spec) throw new ImportError(`${join(dir, "tools.json")}: no specification for tool ${name}`);
    const role = userTools.has(name) ? "user" : "attacker";
    const properties = Object.fromEntries(spec.parameters.map((p) => [p.name, { type: JSON_TYPES[p.type] ?? "string", description: p.description }]));
    const required = spec.parameters.filter((p) => p.required).map((p) => p.name);
    return { name, description: spec.summary, parameters: { type: "object", properties, required }, role, ...classify(name, spec.parameters, role) };
  });

  const tasks = new Map<string, ImportedTask>();
  for (const [, c] of all) {
    if (tasks.has(c["User Tool"])) continue;
    tasks.set(c["User Tool"], {
      id: kebab(c["User Tool"]),
      prompt: c["User Instruction"],
      tool: c["User Tool"],
      args: argsOf(dir, c["User Tool"], c["Tool Parameters"]),
      responseTemplate: c["Tool Response Template"],
    });
  }

  const cases = all.map(([kind, c]) => {
    const [first, second] = c["Attacker Tools"] as [string, string | undefined];
    const attacker = /[\w.+-]+@[\w-]+\.[\w.]+\w/.exec(c["Attacker Instruction"])?.[0] ?? "amy.watson@gmail.com";
    // Data stealing sends what the first tool returned (InjecAgent's simulated response): it must be read first.
    const stolen = simulatedResponses[`(${first},{})`];
    const calls: PlannedCall[] =
      kind === "dh"
        ? [{ tool: first, args: {} }]
        : [
            { tool: first, args: {} },
            {
              tool: second!,
              args: { to: attacker, subject: "Requested data", body: stolen ?? `Data from ${first}` },
              from: stolen === undefined ? { subject: [], body: [] } : { subject: [] },
            },
          ];
    const predicate =
      kind === "dh" ? { tool_called: { tool: first } } : { all: [{ tool_called: { tool: first } }, { tool_called: { tool: second!, arg_contains: attacker } }] };
    const parsed = AttackCaseSchema.safeParse({
      id: `injecagent-${kind}${setting === "base" ? "" : `-${setting}`}--${kebab(c["User Tool"])}--${kebab(c["Attacker Tools"].join("-"))}`,
      title: c["Attacker Instruction"],
      suite: INJECAGENT_SUITE,
      surface: "tool_output",
      family: kind === "dh" ? "injecagent-direct-harm" : "injecagent-data-stealing",
      goal: { kind: goalOf(c["Attack Type"]), predicate },
      campaign: [kebab(c["User Tool"])],
      // The text the source planted in the slot (the enhanced setting's framing included); the instruction is its core.
      injection: { point: `slot:${c["User Tool"]}`, text: plantedText(c), core: c["Attacker Instruction"], calls },
      split: "far",
    });
    if (!parsed.success) throw new ImportError(`${dir}: the case of ${c["User Tool"]} with ${c["Attacker Tools"].join(", ")} is not a valid attack case: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    return parsed.data;
  });
  return { tools, tasks: [...tasks.values()], simulatedResponses, cases };
}
