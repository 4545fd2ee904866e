/**
 * Builds the installable package into `dist/`: the sources compiled to JavaScript with their declarations, the data
 * they read beside them (corpus, suites, configurations, profiles, SQL), and the commit they were built from.
 * `npm pack` runs it (`prepack`); `npm run build` runs it alone.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gitState } from "../runner/manifest.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = join(ROOT, "dist");
const SOURCES = ["agents", "defenses", "attacks", "benchmarks", "analysis"];
/** Folders that only the repository's tests and tools use. */
const LEFT_OUT = new Set(["fixtures", "testing", "perf", "package", "node_modules"]);
const DATA = /\.(json|sql|md)$/;

/** Every file under `dir` whose name matches, outside the folders left out. */
function filesOf(dir: string, match: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return LEFT_OUT.has(entry.name) ? [] : filesOf(path, match);
    return entry.isFile() && match.test(entry.name) ? [path] : [];
  });
}

/**
 * Declarations keep the `.ts` specifiers the sources import by (TypeScript rewrites them only in JavaScript); a
 * consumer's compiler resolves `.js`, which finds the `.d.ts` beside it.
 */
function rewriteDeclaration(path: string): void {
  const text = readFileSync(path, "utf8");
  const fixed = text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g, "$1$2.js$3");
  if (fixed !== text) writeFileSync(path, fixed);
}

export function buildPackage(): void {
  rmSync(DIST, { recursive: true, force: true });
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { cwd: ROOT, stdio: "inherit" });
  for (const declaration of filesOf(DIST, /\.d\.ts$/)) rewriteDeclaration(declaration);
  for (const dir of SOURCES) {
    for (const file of filesOf(join(ROOT, dir), DATA)) {
      const target = join(DIST, relative(ROOT, file));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file, target);
    }
  }
  // An installed copy has no checkout: this is the commit a run from it records.
  writeFileSync(join(DIST, "build-info.json"), `${JSON.stringify(gitState(ROOT), null, 2)}\n`);
  chmodSync(join(DIST, "benchmarks", "cli", "main.js"), 0o755);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) buildPackage();
