import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { DefenseConfigError } from "../errors.ts";
import { FORBIDDEN_PATHS, PROJECT_ROOT } from "../import-graph.ts";

/** A module layer compiled into one file, with the one folder its process may read. */
export interface SandboxBundle {
  readonly file: string;
  readonly moduleDir: string;
  readonly network: boolean;
  /** Hash of the layer's own code: every file it is built from, outside installed packages. */
  readonly source: string;
}

/** Folders no layer may be able to read: the benchmark's corpus, model, suites and results, and a user's own corpus. */
/**
 * Folders no module layer's own folder may hold or be in: the attack corpus and its generator, the agents and the
 * simulated model, results, and the benchmark's data and attackers (suites, configurations, calibration, vaccines'
 * training, trajectories, adaptive attacks). The rest of `benchmarks/` is code a layer may not import (the bundle
 * check) but holds nothing a layer could learn from, so an example layer kept there runs where it is.
 */
const protectedFolders = new Set(
  ["attacks", "agents", "results", ...["adaptive", "calibration", "configs", "suites", "trajectories", "vaccines"].map((d) => join("benchmarks", d))].map((d) => join(PROJECT_ROOT, d)),
);

/** Adds folders (a user's outside cases, families, tasks) that no module layer's own folder may hold or be in. */
export function protectFolders(folders: readonly string[]): void {
  for (const folder of folders) protectedFolders.add(resolve(folder));
}

const within = (path: string, folder: string) => path === folder || path.startsWith(folder + sep);

/**
 * Each file of the layer sees its own `import.meta.url`, as when run unbundled, so that it can read data beside
 * it. Installed packages are left as they are: they cannot read their own files from the sandbox anyway.
 */
const ownUrls: Plugin = {
  name: "anis-own-urls",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta")) return undefined;
      const url = pathToFileURL(args.path).href;
      const contents = text
        .replaceAll("import.meta.url", JSON.stringify(url))
        .replaceAll("import.meta.dirname", JSON.stringify(dirname(args.path)))
        .replaceAll("import.meta.filename", JSON.stringify(args.path));
      return { contents, loader: args.path.endsWith("x") ? "tsx" : args.path.match(/\.[cm]?ts$/) ? "ts" : "js" };
    });
  },
};

/** The sandbox's side of the protocol, and the verdict helpers a layer may import: sources, or the built package's JavaScript. */
const BUILT = import.meta.url.endsWith(".js");
const HOST = join(dirname(fileURLToPath(import.meta.url)), BUILT ? "host.js" : "host.ts");
let workDir: string | null = null;

/**
 * Compiles a module layer and everything it imports into one file for its sandboxed process. Refused, with the
 * reason: a module whose folder holds (or sits in) the benchmark's corpus or a user's, one that imports the
 * simulated model, attack metadata or the benchmark by any path the compiler can follow, one that cannot be
 * compiled into one file (a native addon, a syntax error).
 */
export async function bundleModule(path: string, network: boolean, where: string): Promise<SandboxBundle> {
  const file = realpathSync(path);
  const moduleDir = dirname(file);
  const reads = [...protectedFolders].find((folder) => within(folder, moduleDir) || within(moduleDir, folder));
  if (reads) {
    throw new DefenseConfigError(
      `${where}: module ${path} cannot run sandboxed: its process may read only its own folder, ${moduleDir}, and that folder ${within(reads, moduleDir) ? "holds" : "is inside"} ${reads}, which a layer must not read. Put the module in a folder of its own`,
    );
  }
  const entry = [
    `import { cutNetwork, serve } from ${JSON.stringify(HOST)};`,
    network ? "" : "cutNetwork();",
    `await serve(() => import(${JSON.stringify(file)}));`,
  ].join("\n");
  let result;
  try {
    result = await build({
      stdin: { contents: entry, resolveDir: moduleDir, loader: "ts", sourcefile: "anis-sandbox-entry.ts" },
      absWorkingDir: PROJECT_ROOT,
      // A layer outside the repository may use the packages the benchmark installed (zod, @langchain/core…).
      nodePaths: [join(PROJECT_ROOT, "node_modules")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      metafile: true,
      logLevel: "silent",
      plugins: [ownUrls],
      // Packages written as CommonJS still find `require` in an ES module bundle.
      banner: { js: `import { createRequire as __anisRequire } from "node:module"; const require = __anisRequire(${JSON.stringify(pathToFileURL(file).href)});` },
    });
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors?.[0];
    const detail = first ? `${first.location ? `${resolve(PROJECT_ROOT, first.location.file)}:${first.location.line}: ` : ""}${first.text}` : (error as Error).message;
    throw new DefenseConfigError(`${where}: module ${path} cannot be compiled for its sandbox: ${detail}`);
  }
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.endsWith("anis-sandbox-entry.ts"));
  const runtime = [relative(PROJECT_ROOT, dirname(HOST)) + "/", BUILT ? "defenses/types.js" : "defenses/types.ts"];
  const ownCode = inputs.filter((input) => !input.split("/").includes("node_modules") && !runtime.some((r) => input.startsWith(r)));
  const forbidden = ownCode.filter((input) => !isAbsolute(input) && FORBIDDEN_PATHS.some((f) => f.test(input)) && resolve(PROJECT_ROOT, input) !== file);
  if (forbidden.length > 0) {
    throw new DefenseConfigError(`${where}: module ${path} is refused: a defense sees only what a deployment sees, and it imports ${forbidden.join(", ")}`);
  }
  const hash = createHash("sha256");
  for (const input of ownCode.map((i) => resolve(PROJECT_ROOT, i)).sort()) hash.update(relative(moduleDir, input)).update("\0").update(readFileSync(input));
  workDir ??= makeWorkDir();
  const out = join(workDir, `${createHash("sha256").update(`${file}\0${network}`).digest("hex").slice(0, 16)}.mjs`);
  writeFileSync(out, result.outputFiles[0]!.text);
  return { file: out, moduleDir, network, source: hash.digest("hex").slice(0, 16) };
}

/** A private folder for the compiled layers of this process, removed when it exits. */
function makeWorkDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "anis-sandbox-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
