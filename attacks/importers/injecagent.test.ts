import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importInjecAgent, ImportError } from "./injecagent.ts";
import { parsePythonLiteral } from "./python-literal.ts";

/** InjecAgent's data is not shipped: tests read it from ../shared/data when it is there; CI requires it. */
const DATA = fileURLToPath(new URL("../../../shared/data/injecagent", import.meta.url));
const present = existsSync(DATA);
const required = process.env.ANIS_REQUIRE_SHARED_DATA === "1";
if (!present && !required) console.warn(`skipping InjecAgent import tests: no data at ${DATA} (set ANIS_REQUIRE_SHARED_DATA=1 to require it)`);

describe("python literals (InjecAgent's tool parameters)", () => {
  it("parses dicts, lists, tuples, both quotes, numbers and constants", () => {
    expect(parsePythonLiteral("{'a': 'it\\'s', \"b\": [1, 2.5, -3], 'c': (True, None), 'd': {'e': False}}")).toEqual({
      a: "it's",
      b: [1, 2.5, -3],
      c: [true, null],
      d: { e: false },
    });
  });

  it("names the position of a syntax error", () => {
    expect(() => parsePythonLiteral("{'a': 1,, }")).toThrow(/unexpected character at position 8/);
  });
});

describe.runIf(present || required)("InjecAgent import (shared data)", () => {
  it("imports every base test case as a runnable attack case", () => {
    const imported = importInjecAgent(DATA);
    expect(imported.tasks).toHaveLength(17);
    expect(imported.cases).toHaveLength(510 + 544);
    expect(new Set(imported.cases.map((c) => c.id)).size).toBe(imported.cases.length);
    const ds = imported.cases.find((c) => c.family === "injecagent-data-stealing")!;
    expect(ds.injection.calls.map((c) => c.tool)).toEqual([expect.any(String), "GmailSendEmail"]);
    expect(imported.tools.find((t) => t.name === "GmailSendEmail")).toMatchObject({ sensitivity: "external_sink", role: "attacker" });
  });
});

describe("InjecAgent import errors", () => {
  it("names a missing folder", () => {
    expect(() => importInjecAgent("/nonexistent/injecagent")).toThrow(ImportError);
  });
});
