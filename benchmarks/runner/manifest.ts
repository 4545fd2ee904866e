import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { RESULTS_SCHEMA_VERSION } from "./tables.ts";

const ROOT = new URL("../../", import.meta.url);
/** The package's own `package.json`: at the root in a checkout, one folder up from the built code (`dist/`). */
const PACKAGE_JSON = [new URL("package.json", ROOT), new URL("../package.json", ROOT)].find((url) => existsSync(url))!;

export const hashOf = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);

/** What decides a run's numbers in a checkout: an output written elsewhere in it (a leaderboard, an Arrow file) does not. */
const CODE_PATHS = ["agents", "defenses", "attacks", "benchmarks", "analysis", "package.json", "package-lock.json", "tsconfig.json"];

/**
 * The checkout's commit, and whether the code that decides numbers has uncommitted changes (`dirty`): files the
 * commands write into the repository, as the docs show (`leaderboard/`, `report.arrow`), are not changes to it.
 * Without a checkout of its own (an installed package, a container image): the commit its build recorded
 * (`build-info.json`, or `ANIS_COMMIT` in an image). A project that installed the package may be a checkout; its
 * commit is not this code's.
 */
export function gitState(cwd = fileURLToPath(ROOT)): { commit: string | null; dirty: boolean | null } {
  const git = (...args: string[]) => execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  try {
    if (realpathSync(git("rev-parse", "--show-toplevel")) === realpathSync(cwd)) {
      return { commit: git("rev-parse", "HEAD"), dirty: git("status", "--porcelain", "--", ...CODE_PATHS).length > 0 };
    }
  } catch {
    // Not a checkout.
  }
  return builtState(cwd);
}

const COMMIT = /^[0-9a-f]{7,40}$/;

function builtState(root: string): { commit: string | null; dirty: boolean | null } {
  const image = process.env.ANIS_COMMIT;
  if (image !== undefined) return { commit: COMMIT.test(image) ? image : null, dirty: null };
  try {
    const built = JSON.parse(readFileSync(join(root, "build-info.json"), "utf8")) as { commit?: unknown; dirty?: unknown };
    return { commit: typeof built.commit === "string" && COMMIT.test(built.commit) ? built.commit : null, dirty: typeof built.dirty === "boolean" ? built.dirty : null };
  } catch {
    return { commit: null, dirty: null };
  }
}

/**
 * A hash of the source that decides outcomes: the agents, defenses, attacks and benchmark runner, their data, and the
 * locked library versions. Tests, fixtures and the command line's presentation do not move a number, so editing them
 * does not change it; two runs with the same hash ran the same code, whatever their commits.
 */
export function sourceHash(): string {
  const root = fileURLToPath(ROOT);
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SOURCE_SKIPPED.has(relative(root, path)) && entry.name !== "fixtures" && entry.name !== "node_modules") walk(path);
      } else if (entry.isFile() && /\.(ts|js|json|sql)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
        hash.update(`${relative(root, path)}\0`).update(readFileSync(path)).update("\0");
      }
    }
  };
  for (const dir of ["agents", "defenses", "attacks", "benchmarks"]) if (existsSync(join(root, dir))) walk(join(root, dir));
  const lock = join(root, "package-lock.json");
  if (existsSync(lock)) hash.update(readFileSync(lock));
  return hash.digest("hex").slice(0, 16);
}
const SOURCE_SKIPPED = new Set(["benchmarks/cli", "benchmarks/perf", "benchmarks/testing", "benchmarks/package"]);

/** What code a run ran: the commit (when there is a checkout), whether it had uncommitted changes, the source hash. */
export const codeVersion = () => ({ ...gitState(), source: sourceHash() });

/** Installed versions of the packages a result depends on. */
export function packageVersions(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as { dependencies: Record<string, string> };
  const require = createRequire(PACKAGE_JSON);
  const versions: Record<string, string> = { node: process.version };
  for (const name of Object.keys(pkg.dependencies)) {
    try {
      versions[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      versions[name] = pkg.dependencies[name]!;
    }
  }
  return versions;
}

/** Writes the manifest atomically: a reader never sees half a file. */
export function writeManifest(dir: string, manifest: Record<string, unknown>): void {
  const target = join(dir, "manifest.json");
  try {
    writeFileSync(`${target}.tmp`, `${JSON.stringify({ schema_version: RESULTS_SCHEMA_VERSION, ...manifest }, null, 2)}\n`);
    renameSync(`${target}.tmp`, target);
  } catch (error) {
    rmSync(`${target}.tmp`, { force: true });
    throw error;
  }
}
