import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parseFamily } from "../../attacks/families.ts";
import { parseAttackFile } from "../../attacks/load.ts";
import { parseDefenseConfiguration } from "../../defenses/config.ts";
import { checkAgainstSuite } from "../corpus.ts";
import { generateGuide, generateSchemas, GUIDE_FILE, SCHEMA_DIR } from "./generate.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => JSON.parse(readFileSync(join(ROOT, path), "utf8")) as unknown;
const jsonIn = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsonIn(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : []));

const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
const schemas = generateSchemas();
const validator = (name: string) => ajv.compile(schemas[name]!);

describe("the JSON Schemas and the authoring reference", () => {
  it("are committed as generated (npm run schemas), so they cannot drift from the loaders' schemas", () => {
    for (const [name, schema] of Object.entries(schemas)) expect(read(`${SCHEMA_DIR}/${name}`), name).toEqual(schema);
    expect(readFileSync(join(ROOT, GUIDE_FILE), "utf8")).toBe(generateGuide());
  });

  it("accept every shipped and example case, family, configuration and task file", () => {
    const cases = validator("attack-cases.schema.json");
    for (const file of [...jsonIn("attacks/cases"), "benchmarks/cli/fixtures/outside/cases/tickets.json"]) expect(cases(read(file)), `${file}: ${ajv.errorsText(cases.errors)}`).toBe(true);
    const families = validator("family.schema.json");
    for (const file of [...jsonIn("attacks/families"), "benchmarks/cli/fixtures/outside/families/fake-ticket.json"]) expect(families(read(file)), `${file}: ${ajv.errorsText(families.errors)}`).toBe(true);
    const configs = validator("configuration.schema.json");
    for (const file of [...jsonIn("defenses/configs"), "benchmarks/cli/fixtures/outside/defenses/no-delete.json"]) expect(configs(read(file)), `${file}: ${ajv.errorsText(configs.errors)}`).toBe(true);
    const tasks = validator("tasks.schema.json");
    expect(tasks(read("benchmarks/cli/fixtures/outside/tasks/lab-tasks.json")), ajv.errorsText(tasks.errors)).toBe(true);
  });

  it("reject what the loaders reject: an unknown predicate atom, a tool of another suite, a misspelled field, an unknown layer", () => {
    const cases = validator("attack-cases.schema.json");
    const [good] = read("attacks/cases/workspace/" + readdirSync(join(ROOT, "attacks/cases/workspace"))[0]) as Record<string, unknown>[];
    const broken = [
      { ...good, goal: { kind: "exfiltration", predicate: { email_send: { to: "x@y.example" } } } },
      { ...good, injection: { ...(good!.injection as object), calls: [{ tool: "kubectl_apply", args: {} }] } },
      { ...good, titel: "misspelled" },
    ];
    for (const c of broken) {
      expect(cases([c]), JSON.stringify(c).slice(0, 120)).toBe(false);
      // The loader refuses the misspelled field; the suite check refuses the unknown atom and the foreign tool.
      if ("titel" in c) expect(() => parseAttackFile(JSON.stringify([c]), "broken.json")).toThrow(/titel/);
      else expect(checkAgainstSuite(parseAttackFile(JSON.stringify([c]), "broken.json")[0]!).length).toBeGreaterThan(0);
    }
    const configs = validator("configuration.schema.json");
    const badConfig = { name: "mine", description: "x", layers: [{ use: "l9" }] };
    expect(configs(badConfig)).toBe(false);
    expect(() => parseDefenseConfiguration(JSON.stringify(badConfig), "mine.json")).toThrow(/l9/);
    const families = validator("family.schema.json");
    const family = read("attacks/families/query-injection.json") as Record<string, unknown>;
    expect(families({ ...family, surface: "email" })).toBe(false);
    expect(() => parseFamily(JSON.stringify({ ...family, surface: "email" }), "f.json")).toThrow();
  });

  it("a file that names its schema in \"$schema\" still loads", () => {
    const family = read("attacks/families/query-injection.json") as Record<string, unknown>;
    expect(family.$schema).toBe("../../docs/schemas/family.schema.json");
    expect(parseFamily(JSON.stringify(family), "f.json").id).toBe("query-injection");
    expect(parseDefenseConfiguration(readFileSync(join(ROOT, "defenses/configs/tower.json"), "utf8"), "tower.json").name).toBe("tower");
  });
});
