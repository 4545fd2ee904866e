import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs the real CLI in a child process, as `npm run anis -- ...` does. */
function anis(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd: ROOT, env: { ...process.env, OPENAI_BASE_URL: "" } }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe.concurrent("anis CLI", () => {
  it.each([
    [["run", "--defenses", "nope"], /unknown defense configuration "nope". Valid configurations: .*argument-constraints, .*ifc, .*none, .*tower/],
    [["run", "--model", "gpt-4o"], /unknown model "gpt-4o". Valid models: .*sim:cautious.*sim:gpt-4o-2024-05-13.*sim:obedient.*sim:typical, sim:profile=FILE, openai:NAME/],
    [["run", "--suites", "bank"], /unknown suite "bank". Valid suites: workspace/],
    [["run", "--agents", "swarm"], /unknown agent system "swarm". Valid agent systems: single, supervisor/],
    [["run", "--config", "huge"], /unknown run configuration "huge". Valid configurations: default, full, multiagent, quick/],
    [["report", "/nonexistent/run"], /not a finished run folder/],
    [["list", "widgets"], /Allowed choices are suites, defenses, attacks, models, vaccinators/],
    [["generalize", "--vaccinators", "exact,naive-bayes"], /unknown vaccinator "exact". Valid vaccinators: exact-signatures, negative-selection, naive-bayes, naive-bayes-thymus, behaviour, effect, co-stimulation/],
    [["evolve", "--budget", "1"], /evolve needs the configuration to attack: --defense NAME or FILE/],
    [["continual", "--operating-points", "0.9,x"], /--operating-points must be a rate between 0 and 1, got "x"/],
    [["vaccinate", "--vaccinator", "co-stimulation", "--operating-point", "95", "--out", "v.json"], /--operating-point must be a rate between 0 and 1, got "95"/],
    [["vaccinate", "--vaccinator", "naive-bayes", "--operating-point", "0.9", "--out", "v.json"], /--operating-point: naive-bayes has no operating point. Vaccinators with one: co-stimulation/],
    [["generalize", "--vaccinators", "naive-bayes,behaviour", "--operating-point", "0.9"], /--operating-point: none of naive-bayes, behaviour has an operating point/],
  ])("%j exits 2 and names the valid choices", async (args, message) => {
    const { code, stderr } = await anis(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it("run an openai model against an unreachable endpoint: one clear message, exit 2", async () => {
    const { code, stderr } = await anis("run", "--model", "openai:gpt-4o", "--base-url", "http://127.0.0.1:9/v1", "--api-key", "x");
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot reach the OpenAI-compatible endpoint at http:\/\/127.0.0.1:9\/v1/);
  });

  it("validate names each problem of a broken attack file and exits 2", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "anis-validate-")), "broken.json");
    writeFileSync(file, JSON.stringify([{ id: "Bad Id", title: 5, suite: "workspace", surface: "email", family: "f", campaign: [], injection: { point: "email:m1", text: "x", calls: [] } }]));
    const { code, stderr } = await anis("validate", file);
    expect(code).toBe(2);
    for (const path of ["0.id", "0.title", "0.surface", "0.goal", "0.campaign", "0.injection.calls"]) expect(stderr).toContain(`${file}: ${path}`);
    expect(stderr).toMatch(/expected string, received number → at .*: 0.title/);
  });

  it("validate accepts the shipped corpus and configurations", async () => {
    const { code, stdout } = await anis("validate", "attacks/cases/workspace/tool-output.json", "defenses/configs/ifc.json", "benchmarks/configs/quick.json");
    expect(code).toBe(0);
    expect(stdout).toMatch(/9 attack case\(s\) ok[\s\S]*defense configuration ok[\s\S]*run configuration ok/);
  });

  it("validate refuses a held-out case that repeats seen text, naming the case and the words", async () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, "attacks/cases/workspace/tool-output.json"), "utf8")) as { id: string; split: string; injection: { text: string } }[];
    const seen = shipped.find((c) => (c.split ?? "seen") === "seen" && c.injection.text.split(" ").length > 12)!;
    const near = shipped.find((c) => c.split === "near")!;
    const file = join(mkdtempSync(join(tmpdir(), "anis-validate-")), "leaky.json");
    writeFileSync(file, JSON.stringify([{ ...near, id: "leaky-near", injection: { ...near.injection, text: `${near.injection.text} ${seen.injection.text}` } }]));
    const { code, stderr } = await anis("validate", file);
    expect(code).toBe(2);
    expect(stderr).toMatch(/leaky-near: split: a near case repeats seen text \("[^"]+"\)/);
  });

  it("list attacks --json: the cases, each held-out one with what it shares with the seen split, and the leakage check", async () => {
    const { cases, leakage } = JSON.parse((await anis("list", "attacks", "--json")).stdout) as {
      cases: { split: string; shared_with_seen?: number }[];
      leakage: { split: string; share: number; max_share: number }[];
    };
    expect(cases.length).toBeGreaterThanOrEqual(12);
    expect(cases.filter((c) => c.split !== "seen").every((c) => typeof c.shared_with_seen === "number")).toBe(true);
    expect(leakage.map((l) => l.split)).toEqual(["far", "near"]);
    for (const l of leakage) expect(l.share).toBeLessThanOrEqual(l.max_share);
    expect((await anis("list", "attacks", "--split", "far")).stdout).toMatch(/far \d+\/\d+ \(\d+\.\d%\) share a run of 8 words with the seen split/);
  });

  it("list defenses", async () => {
    const defenses = (await anis("list", "defenses")).stdout;
    expect(defenses).toMatch(/configuration ifc: .*\n\s+L1 information-flow \(onContext, onToolCall\)/);
  });

  it("run then report --format json: one object per (defense, model) with the contract's fields", async () => {
    const out = mkdtempSync(join(tmpdir(), "anis-cli-"));
    const run = await anis("run", "--config", "quick", "--defenses", "none,ifc", "--attacks", "email-*", "--agents", "single", "--out", out, "--report", "--format", "json");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/wrote .*: \d+ episodes \(0 errors\)/);
    const rows = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(rows.map((r) => [r.defense, r.model])).toEqual([
      ["ifc", "sim:obedient"],
      ["none", "sim:obedient"],
    ]);
    const fields = ["n_benign", "benign_utility", "n_attack", "asr", "block_rate", "autoimmunity", "harmful_autoimmunity", "utility_under_attack", "friction", "errors"];
    for (const row of rows) {
      for (const f of fields) expect(row).toHaveProperty(f);
      for (const f of ["benign_utility", "asr", "block_rate", "autoimmunity", "harmful_autoimmunity", "utility_under_attack"]) {
        expect(row).toHaveProperty(`${f}_lo`);
        expect(row).toHaveProperty(`${f}_hi`);
      }
    }
  });
});
