import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The honesty rule as code: a defense sees only what a deployment sees, so nothing it imports may reach the
 * simulated model, attack metadata or the benchmark. Used by the test over the shipped layers and by the loader of
 * a researcher's own module layer.
 */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const FORBIDDEN_PATHS = [/^agents\/models\/sim\//, /^attacks\//, /^benchmarks\//];

/** Relative and absolute imports of a file (static, dynamic and re-exports), resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:import|export)[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g)].map(
    (m) => m[1] ?? m[2] ?? m[3]!,
  );
  return specifiers
    .map((s) => (s.startsWith("file://") ? fileURLToPath(s) : s))
    .filter((s) => s.startsWith(".") || s.startsWith("/"))
    .map((s) => resolve(dirname(file), s))
    .map((p) => (existsSync(p) ? p : [".ts", ".js", ".mjs", "/index.ts", "/index.js"].map((ext) => p + ext).find(existsSync) ?? p));
}

/** Every file reachable from a file through relative and absolute imports, each with the file that imports it. */
export function importClosure(start: string): Map<string, string> {
  const via = new Map<string, string>([[start, start]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (!existsSync(file)) continue;
    for (const target of importsOf(file)) {
      if (via.has(target)) continue;
      via.set(target, file);
      queue.push(target);
    }
  }
  return via;
}

/**
 * The forbidden files a module reaches, as `importer → forbidden file` (project-relative); empty when honest. The
 * module itself is not one of them: an example layer kept in the repository is read where it is.
 */
export function forbiddenImports(file: string): string[] {
  const start = resolve(file);
  return [...importClosure(start).entries()]
    .filter(([target]) => target !== start)
    .map(([target, from]) => [relative(PROJECT_ROOT, target), relative(PROJECT_ROOT, from)] as const)
    .filter(([target]) => FORBIDDEN_PATHS.some((f) => f.test(target)))
    .map(([target, from]) => `${from} → ${target}`);
}
