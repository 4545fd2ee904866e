import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const FORBIDDEN = [/^agents\/models\/sim\//, /^attacks\//, /^benchmarks\//];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Relative imports of a file (static, dynamic and re-exports), resolved to files under the repository. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:import|export)[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );
  return specifiers.filter((s) => s.startsWith(".")).map((s) => resolve(dirname(file), s));
}

/** Every repository file reachable from a file through relative imports. */
function closure(start: string): Map<string, string> {
  const via = new Map<string, string>([[start, start]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.pop()!;
    for (const target of importsOf(file)) {
      if (via.has(target)) continue;
      via.set(target, file);
      queue.push(target);
    }
  }
  return via;
}

describe("the honesty rule: defenses see only what a deployment sees", () => {
  const files = sources(join(ROOT, "defenses"));

  it("finds the defense sources", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.map((f) => relative(ROOT, f)))("%s reaches neither the simulated model, nor attack metadata, nor the benchmark", (file) => {
    const reached = [...closure(join(ROOT, file)).entries()]
      .map(([target, from]) => [relative(ROOT, target), relative(ROOT, from)] as const)
      .filter(([target]) => FORBIDDEN.some((f) => f.test(target)));
    expect(reached.map(([target, from]) => `${from} → ${target}`)).toEqual([]);
  });

  it("would catch a forbidden import (the check can fail)", () => {
    const sim = join(ROOT, "agents/models/registry.ts");
    const reached = [...closure(sim).keys()].map((f) => relative(ROOT, f));
    expect(reached.some((f) => FORBIDDEN[0]!.test(f))).toBe(true);
  });
});
