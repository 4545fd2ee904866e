import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * The package as a user gets it: `npm pack`, unpacked into a project of its own that has only the package's runtime
 * dependencies (no tsx, no TypeScript 7, nothing the repository installs for development), then used from plain
 * `node` and compiled by a TypeScript 5 consumer.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } });

let project: string;
let files: string[];

/** The project's node_modules: the packed package, and links to the repository's copies of its runtime dependencies only. */
function installInto(dir: string, tarball: string): void {
  const modules = join(dir, "node_modules");
  mkdirSync(join(modules, "anis-bench"), { recursive: true });
  run("tar", ["xzf", tarball, "-C", join(modules, "anis-bench"), "--strip-components=1"], dir);
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  const runtime = Object.entries(lock.packages)
    .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !entry.dev)
    .map(([path]) => path.slice("node_modules/".length));
  // A consumer's own development dependency: Node's types, for its compiler.
  for (const name of [...runtime, "@types/node"]) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", name), join(modules, name), "dir");
  }
}

beforeAll(() => {
  const packs = mkdtempSync(join(tmpdir(), "anis-pack-"));
  const packed = JSON.parse(run("npm", ["pack", "--json", "--silent", "--pack-destination", packs], ROOT)) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  project = mkdtempSync(join(tmpdir(), "anis-consumer-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  installInto(project, join(packs, packed[0]!.filename));
  // The consumer's project is a checkout of its own: its commit is not the package's.
  run("git", ["init", "-q"], project);
  run("git", ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "consumer"], project);
});

describe("the packed package", () => {
  it("holds the compiled code, its declarations and data, and no test, fixture or TypeScript source", () => {
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/benchmarks/api.js", "dist/benchmarks/api.d.ts", "dist/benchmarks/cli/main.js", "dist/build-info.json"]));
    expect(files).toEqual(expect.arrayContaining(["dist/defenses/configs/tower.json", "dist/analysis/sql/report.sql", "dist/attacks/corpus.json"]));
    expect(files.filter((f) => /\.test\.|\/fixtures\/|(?<!\.d)\.ts$/.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(project, "node_modules", "anis-bench", "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(manifest.bin).toEqual({ anis: "./dist/benchmarks/cli/main.js" });
  });

  it("runs from plain node: the API runs a benchmark (two worker threads) and records the commit it was built from", () => {
    const script = `
      import { allow, block, defineDefense, report, runBenchmark } from "anis-bench";
      import { block as blockToo } from "anis-bench/defense";
      const run = await runBenchmark({ config: "quick", overrides: { suites: ["workspace"], agents: ["single"], defenses: ["none", "l1"], models: ["sim:obedient"], sample: 4 }, out: "results", runId: "plain", workers: 2 });
      const table = await report([run.dir], { by: ["suite"] });
      const manifest = JSON.parse((await import("node:fs")).readFileSync(run.dir + "/manifest.json", "utf8"));
      console.log(JSON.stringify({ rows: table.numRows, episodes: run.episodes, errors: run.errors, git: manifest.git, helpers: [block, defineDefense, blockToo].map((f) => typeof f), allow, exports: Object.keys(await import("anis-bench")) }));
    `;
    writeFileSync(join(project, "plain.mjs"), script);
    const out = JSON.parse(run(process.execPath, ["plain.mjs"], project).trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(out).toMatchObject({ rows: 2, errors: 0, helpers: ["function", "function", "function"], allow: { kind: "allow" } });
    expect(out.episodes).toBeGreaterThan(0);
    expect(out.exports).toEqual(expect.arrayContaining(["defineDefense", "defineFamily", "query", "report", "runBenchmark", "replayTrajectories", "block", "allow"]));
    const built = JSON.parse(readFileSync(join(project, "node_modules", "anis-bench", "dist", "build-info.json"), "utf8")) as { commit: string | null };
    expect(built.commit).toMatch(/^[0-9a-f]{40}$/);
    expect((out.git as { commit: string | null }).commit).toBe(built.commit);
  });

  it("its `anis` bin runs by its own shebang", () => {
    const listed = run(join(project, "node_modules", "anis-bench", "dist", "benchmarks", "cli", "main.js"), ["list", "defenses"], project);
    expect(listed).toContain("tower");
  });

  it("compiles in a TypeScript 5 consumer, declarations checked (no skipLibCheck)", () => {
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, types: ["node"] }, include: ["consumer.ts"] }),
    );
    writeFileSync(
      join(project, "consumer.ts"),
      `
      import { defineDefense, report, runBenchmark, type Defense, type RunSummary } from "anis-bench";
      import { allow, block } from "anis-bench/defense";
      const layer: Defense = defineDefense(() => ({
        id: "mine", layer: "L1", version: "1", description: "blocks every destructive call", params: {},
        hooks: { onToolCall: (call) => (call.tool.sensitivity === "destructive" ? block("destructive", "no") : allow) },
      }))({});
      const summary: Promise<RunSummary> = runBenchmark({ config: "quick", out: "results" });
      const rows: Promise<number> = summary.then((s) => report([s.dir])).then((t) => t.numRows);
      export { layer, rows };
      `,
    );
    const tsc = join(ROOT, "node_modules", "typescript5", "bin", "tsc");
    let output = "";
    try {
      run(process.execPath, [tsc, "-p", "tsconfig.json"], project);
    } catch (error) {
      output = String((error as { stdout?: string }).stdout);
    }
    expect(output).toBe("");
    expect(run(process.execPath, [tsc, "--version"], project)).toMatch(/^Version 5\./);
  });
});
