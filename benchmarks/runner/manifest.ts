import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { RESULTS_SCHEMA_VERSION } from "./tables.ts";

const ROOT = new URL("../../", import.meta.url);

export const hashOf = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);

export function gitState(): { commit: string | null; dirty: boolean | null } {
  try {
    const cwd = ROOT.pathname;
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd, stdio: ["ignore", "pipe", "ignore"] }).toString().trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Installed versions of the packages a result depends on. */
export function packageVersions(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as { dependencies: Record<string, string> };
  const require = createRequire(new URL("package.json", ROOT));
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
  writeFileSync(`${target}.tmp`, `${JSON.stringify({ schema_version: RESULTS_SCHEMA_VERSION, ...manifest }, null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
}
