import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, symlinkSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openResults, queryRows } from "../../analysis/results.ts";
import { RUN_ID_RULE } from "../../analysis/paths.ts";
import { loadRunConfig } from "../runner/config.ts";
import { executeRun } from "../runner/run.ts";

/**
 * Hostile and broken input, through the real CLI process where the item is about the CLI: run folders, attack
 * files, configurations and endpoints from strangers. Each probe exits 0 or 2 with one message, never a stack
 * trace, and writes nothing outside the folder the user named.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function anisIn(cwd: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd, env: { ...process.env, OPENAI_BASE_URL: "" } }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}
const anis = (...args: string[]) => anisIn(ROOT, ...args);

/** Every file under a folder with its content hash: what must not change. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = join(dir, name);
    if (statSync(path).isFile()) files.set(name, createHash("sha256").update(readFileSync(path)).digest("hex"));
  }
  return files;
}

const config = { ...loadRunConfig("quick"), suites: ["workspace"], agents: ["single"], defenses: ["none", "l1"], models: ["sim:obedient"], sample: 4 };
let root: string;
let run: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "anis-hostile-"));
  run = (await executeRun({ config, out: join(root, "results"), runId: "good", endpoint: {} })).dir;
}, 240_000);

/** A copy of the good run in its own folder, for one probe to damage. */
function copyOfRun(name: string): string {
  const dir = join(root, "probes", name);
  cpSync(run, dir, { recursive: true });
  return dir;
}

describe.concurrent("paths from flags and files stay where the user pointed", () => {
  it.each([[".."], ["../escape"], ["a/b"], [""], ["r?"], ["*"], ["x".repeat(129)]])("run --run-id %j exits 2 and creates nothing", async (id) => {
    // A folder of its own two levels above --out: where `..` would land, and nothing else writes.
    const area = mkdtempSync(join(root, "area-"));
    const out = join(area, "a", "results");
    mkdirSync(out, { recursive: true });
    const { code, stderr } = await anis("run", "--config", "quick", "--sample", "1", "--out", out, "--run-id", id);
    expect(code).toBe(2);
    expect(stderr).toContain(RUN_ID_RULE);
    expect([...snapshot(area).keys()]).toEqual([]);
    expect(readdirSync(join(area, "a"))).toEqual(["results"]);
    expect(readdirSync(out)).toEqual([]);
  });

  it("run --out a file, or a path through a file: one message, exit 2", async () => {
    const file = join(mkdtempSync(join(root, "out-")), "a-file");
    writeFileSync(file, "x");
    for (const out of [file, join(file, "inside")]) {
      const { code, stderr } = await anis("run", "--config", "quick", "--sample", "1", "--out", out);
      expect(code).toBe(2);
      expect(stderr).toMatch(/^error: (--out .* is a file, not a folder|cannot create .* under --out .*: a part of the path is a file)\n$/);
    }
  });

  it("leaderboard refuses a manifest whose run_id leaves --out, and writes nothing", async () => {
    const dir = copyOfRun("escaping-id");
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, run_id: "../../x" }));
    const area = mkdtempSync(join(root, "area-"));
    const before = snapshot(dir);
    const { code, stderr } = await anis("leaderboard", dir, "--out", join(area, "lb", "out"));
    expect(code).toBe(2);
    expect(stderr).toContain(`manifest.json: not a run manifest: run_id "../../x": ${RUN_ID_RULE}`);
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(area)).toEqual([]);
  });

  it("a folder whose name is a pattern is read as that folder only, never as a glob", async () => {
    const literal = join(root, "globs", "r?");
    mkdirSync(join(root, "globs"), { recursive: true });
    cpSync(run, literal, { recursive: true });
    cpSync(run, join(root, "globs", "r1"), { recursive: true });
    const db = await openResults([literal]);
    try {
      const [row] = await queryRows(db.connection, "SELECT count(*) AS n, count(DISTINCT episode_id) AS d FROM episodes");
      expect(row!.n).toBe(row!.d);
    } finally {
      db.close();
    }
    const { code, stdout } = await anis("report", literal, "--format", "json");
    expect(code).toBe(0);
    expect(JSON.parse(stdout).length).toBeGreaterThan(0);
  });

  it("evolve refuses a configuration whose name would leave --out, and writes nothing", async () => {
    const area = mkdtempSync(join(root, "area-"));
    const config = join(area, "defense.json");
    writeFileSync(config, JSON.stringify({ name: "../../escape", description: "x", layers: [{ use: "hardened-prompt" }] }));
    const { code, stderr } = await anis("evolve", "--defense", config, "--budget", "1", "--out", join(area, "a", "out"));
    expect(code).toBe(2);
    expect(stderr).toMatch(/defense\.json: invalid defense configuration\n.*kebab-case → at name/);
    expect(readdirSync(area)).toEqual(["defense.json"]);
  });

  it("vaccinate --out into a folder that does not exist: exit 2 before any training", async () => {
    const { code, stderr } = await anis("vaccinate", "--vaccinator", "exact-signatures", "--out", join(root, "no-such-folder", "v.json"));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: --out .*v\.json: the folder .*no-such-folder does not exist\n$/);
  });

  it("leaderboard refuses two run folders with one run id (their manifests would overwrite each other)", async () => {
    const area = mkdtempSync(join(root, "area-"));
    for (const [folder, defense] of [["a", "none"], ["b", "l1"]] as const) {
      await executeRun({ config: { ...config, defenses: [defense] }, out: join(area, folder), runId: "same", endpoint: {} });
    }
    const { code, stderr } = await anis("leaderboard", join(area, "a", "same"), join(area, "b", "same"), "--out", join(area, "lb"));
    expect(code).toBe(2);
    expect(stderr).toContain(`run ids name more than one folder: same (${join(area, "a", "same")}, ${join(area, "b", "same")})`);
    expect(readdirSync(area).sort()).toEqual(["a", "b"]);
  });

  it("--out of the leaderboard under a file: one message, exit 2", async () => {
    const file = join(mkdtempSync(join(root, "out-")), "a-file");
    writeFileSync(file, "x");
    const { code, stderr } = await anis("leaderboard", run, "--out", join(file, "lb"));
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: cannot create .*lb\/charts under --out .*lb: a part of the path is a file\n$/);
  });
});

describe.concurrent("corrupt and malicious files are refused by name", () => {
  it.each([
    ["not JSON", "{ nope", /manifest\.json: not valid JSON/],
    ["an empty object", "{}", /manifest\.json: not a run manifest: run_id undefined: .*; config\.name is not a string/],
    ["a list", "[]", /manifest\.json: not a run manifest: not a JSON object/],
  ])("a manifest that is %s: report and --resume exit 2 naming it", async (name, text, message) => {
    const dir = copyOfRun(`manifest-${name.replaceAll(" ", "-")}`);
    writeFileSync(join(dir, "manifest.json"), text);
    const report = await anis("report", dir);
    expect(report.code).toBe(2);
    expect(report.stderr).toMatch(message);
    const resume = await anis("run", "--resume", dir);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(/^error: cannot resume .*manifest\.json/);
  });

  it.each([["episodes.parquet"], ["events.parquet"]])("a truncated %s: report exits 2 naming the file", async (file) => {
    const dir = copyOfRun(`truncated-${file}`);
    truncateSync(join(dir, file), Math.floor(statSync(join(dir, file)).size / 2));
    const { code, stderr } = await anis("report", dir);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`${file.replace(".", "\\.")}: not a readable Parquet file .*; the run folder is damaged`));
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("leaderboard.md writes names from manifests as text: no HTML, no broken table", async () => {
    const dir = copyOfRun("html-names");
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, config: { ...manifest.config, name: "<img src=x onerror=alert(1)>|x" }, git: { commit: "[a](javascript:alert(1))", dirty: false } }));
    const out = join(root, "lb-html");
    const { code } = await anis("leaderboard", dir, "--out", out);
    expect(code).toBe(0);
    const md = readFileSync(join(out, "leaderboard.md"), "utf8");
    expect(md).not.toMatch(/<img|\]\(javascript/);
    expect(md).toContain("&#60;img src=x onerror=alert(1)&#62;&#124;x");
    const rows = md.split("\n").filter((l) => l.startsWith("| "));
    expect(new Set(rows.map((l) => l.split(" | ").length)).size).toBe(1);
  });

  it("validate names duplicate ids in a file and ids of the shipped corpus, with a line for every good file", async () => {
    const dir = mkdtempSync(join(root, "validate-"));
    const shipped = JSON.parse(readFileSync(join(ROOT, "attacks/cases/workspace/tool-output.json"), "utf8")) as { id: string }[];
    const twice = join(dir, "twice.json");
    writeFileSync(twice, JSON.stringify([{ ...shipped[0], id: "my-case" }, { ...shipped[0], id: "my-case" }, shipped[0]]));
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify([{ ...shipped[0], id: "my-other-case" }]));
    const { code, stdout, stderr } = await anis("validate", twice, good);
    expect(code).toBe(2);
    expect(stderr).toContain(`${twice}: duplicate attack id "my-case" in this file`);
    expect(stderr).toContain(`${twice}: attack id "${shipped[0]!.id}" is already a case of the shipped corpus`);
    expect(stdout).toMatch(new RegExp(`${good}: 1 attack case\\(s\\) ok`));
  });

  it("one bad hand-written case in attacks/cases: --help and list work, run and validate name the file", async () => {
    // A copy of the project with the bad file, so the other tests keep reading the real corpus.
    const copy = mkdtempSync(join(root, "project-"));
    for (const entry of ["agents", "defenses", "attacks", "benchmarks", "analysis", "package.json", "tsconfig.json"]) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    const bad = join("attacks", "cases", "workspace", "zz-bad.json");
    writeFileSync(join(copy, bad), JSON.stringify([{ id: "broken" }]));
    const help = await anisIn(copy, "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("validate");
    expect((await anisIn(copy, "list", "suites")).code).toBe(0);
    for (const args of [["validate", bad], ["run", "--config", "quick", "--sample", "1", "--out", join(copy, "results")]]) {
      const { code, stderr } = await anisIn(copy, ...args);
      expect(code).toBe(2);
      expect(stderr).toMatch(new RegExp(`^error: ${bad}: invalid attack file\n`));
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("validate names every bad layer and parameter of a defense configuration", async () => {
    const file = join(mkdtempSync(join(root, "validate-")), "defense.json");
    writeFileSync(file, JSON.stringify({ name: "bad", description: "x", layers: [{ use: "tool-allowlist", params: { nope: 1 } }, { use: "argument-constraints", params: { max_amount: "lots" } }, { use: "no-such-layer" }] }));
    const { code, stderr } = await anis("validate", file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/layers\.0: invalid params for "tool-allowlist": params: Unrecognized key: "nope"/);
    expect(stderr).toMatch(/layers\.1: invalid params for "argument-constraints": params\.max_amount: /);
    expect(stderr).toMatch(/layers\.2: unknown defense layer "no-such-layer"\. Valid layers: /);
  });

  it("report --baseline that is no configuration of the runs: exit 2 with the valid names", async () => {
    const { code, stderr } = await anis("report", run, "--baseline", "nonee");
    expect(code).toBe(2);
    expect(stderr).toContain("--baseline nonee: no such configuration in these runs; valid: l1, none");
  });
});

describe("an endpoint that refuses every answer", () => {
  let server: Server;
  let baseURL: string;
  beforeAll(async () => {
    // Lists its model, so the probe passes, then answers every chat request with a 400 no retry mends.
    server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/v1/models") return res.end(JSON.stringify({ data: [{ id: "broken" }] }));
      res.statusCode = 400;
      res.end(JSON.stringify({ error: { message: "bad request" } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("a run in which every episode errored exits 1 with the count, and says how to retry them", async () => {
    const out = mkdtempSync(join(root, "errored-"));
    const { code, stderr } = await anis("run", "--config", "quick", "--model", "openai:broken", "--base-url", baseURL, "--api-key", "k", "--suites", "workspace", "--agents", "single", "--defenses", "none", "--sample", "1", "--no-benign", "--out", out, "--run-id", "all-errors", "--cache", "off");
    expect(code).toBe(1);
    expect(stderr).toMatch(/error: every one of the \d+ episodes errored/);
    expect(stderr).toContain(`--resume ${join(out, "all-errors")} --retry-errors`);
    expect(JSON.parse(readFileSync(join(out, "all-errors", "manifest.json"), "utf8")).requests.by_cause).toMatchObject({ http_400: expect.any(Number) });
  });

  it("a run whose errors left out of the rates pass --max-error-rate exits 1 and says so; a looser bound lets it pass", async () => {
    const out = mkdtempSync(join(root, "some-errors-"));
    const args = ["run", "--config", "quick", "--model", "openai:broken,sim:obedient", "--base-url", baseURL, "--api-key", "k", "--suites", "workspace", "--agents", "single", "--defenses", "none", "--sample", "1", "--no-benign", "--out", out, "--cache", "off"];
    const strict = await anis(...args, "--run-id", "half");
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/error: (\d+) of (\d+) episodes \(50\.0%\) errored and are left out of the rates, above --max-error-rate 0\.02/);
    const loose = await anis(...args, "--run-id", "half-allowed", "--max-error-rate", "0.6");
    expect(loose.code).toBe(0);
  });
});
