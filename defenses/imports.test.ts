import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { forbiddenImports, importClosure, PROJECT_ROOT as ROOT } from "./import-graph.ts";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("the honesty rule: defenses see only what a deployment sees", () => {
  const files = sources(join(ROOT, "defenses"));

  it("finds the defense sources", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.map((f) => relative(ROOT, f)))("%s reaches neither the simulated model, nor attack metadata, nor the benchmark", (file) => {
    expect(forbiddenImports(join(ROOT, file))).toEqual([]);
  });

  it("would catch a forbidden import (the check can fail)", () => {
    const sim = join(ROOT, "agents/models/registry.ts");
    expect([...importClosure(sim).keys()].map((f) => relative(ROOT, f))).toContain("agents/models/sim/model.ts");
    expect(forbiddenImports(sim).length).toBeGreaterThan(0);
  });
});
