import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../trajectories/fixtures/runs", import.meta.url));
const temp = mkdtempSync(join(tmpdir(), "anis-cli-trajectories-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Runs the real CLI in a child process, as `npm run anis -- ...` does. */
function anis(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe("anis import-trajectories and replay", () => {
  it("imports AgentDojo's layout and prints what it found, per pipeline and for the attacker-value rule", async () => {
    const { code, stdout } = await anis("import-trajectories", "--from", FIXTURES, "--out", join(temp, "tables"));
    expect(code).toBe(0);
    expect(stdout).toMatch(/imported 7 runs from 7 files/);
    expect(stdout).toMatch(/gpt-4o-2024-05-13-transformers_pi_detector\s+2\s+0\s+2\s+0\s+2\s+2\s+0/);
    expect(stdout).toMatch(/all\s+5 runs: both 3, rule only 0, security only 0, neither 2; agreement 1\.000, kappa 1\.000/);
  });

  it("names each malformed file, exits 2, and keeps what it imported", async () => {
    const source = join(temp, "broken");
    cpSync(FIXTURES, join(source, "runs"), { recursive: true });
    const bad = join(source, "runs", "gpt-4o-2024-05-13", "banking", "user_task_0", "important_instructions", "injection_task_9.json");
    writeFileSync(bad, '{"suite_name": 3}');
    const { code, stderr } = await anis("import-trajectories", "--from", source, "--out", join(temp, "broken-out"));
    expect(code).toBe(2);
    expect(stderr).toContain("error: runs/gpt-4o-2024-05-13/banking/user_task_0/important_instructions/injection_task_9.json: not an AgentDojo run log: suite_name: Invalid input");
    expect(stderr).toMatch(/1 of 8 files are not run logs/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(join(temp, "broken-out")).sort()).toEqual(["deployment.json", "model_calls.parquet", "runs.parquet", "tool_outputs.parquet", "trajectories.json"]);
  });

  it("replays a source in one step, writes a self-contained folder, and report and leaderboard read it", async () => {
    const { code, stdout, stderr } = await anis("replay", "--trajectories", FIXTURES, "--defenses", "signature-sensor,argument-constraints,masked-reexecution", "--vaccinators", "naive-bayes", "--out", join(temp, "results"));
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/Real text: 7 agentdojo runs replayed/);
    expect(stdout).toMatch(/masked-reexecution\s.*masked-reexecution/);
    const [dir] = readdirSync(join(temp, "results")).filter((d) => d.startsWith("replay-"));
    const folder = join(temp, "results", dir!);
    for (const file of ["replay.json", "verdicts.parquet", "replay.md", "trajectories/runs.parquet", "vaccines/artifacts/naive-bayes.json", "vaccines/configs/vaccine-naive-bayes.json"]) {
      expect(existsSync(join(folder, file)), file).toBe(true);
    }

    const table = await anis("report", folder);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/vaccine-naive-bayes \(seen\)/);
    const json = await anis("report", folder, "--format", "json");
    expect(JSON.parse(json.stdout).calls.find((r: { configuration: string; subset: string }) => r.configuration === "argument-constraints" && r.subset === "attacker calls")).toMatchObject({ flagged: 2, n: 3 });

    const board = await anis("leaderboard", folder, "--out", join(temp, "board"));
    expect(board.code, board.stderr).toBe(0);
    for (const file of ["charts/replay-text.svg", "charts/replay-text.png", "charts/replay-calls.vl.json", "index.html", "leaderboard.md"]) expect(existsSync(join(temp, "board", file)), file).toBe(true);
    expect(readFileSync(join(temp, "board", "index.html"), "utf8")).toContain("Real text (replay: no model in the loop, not ranked)");
  });

  it("calibrate refuses, in one line and writing nothing, runs too few to fit and a model the runs lack", async () => {
    const out = join(temp, "profiles");
    const few = await anis("calibrate", "--trajectories", FIXTURES, "--out", out);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(/error: no model in .* has at least 100 runs that read an injection \(most: gpt-4o-2024-05-13, \d\): nothing to fit/);
    const unknown = await anis("calibrate", "--trajectories", FIXTURES, "--models", "gpt-5", "--out", out);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/error: model "gpt-5" has 0 runs that read an injection .* \(at least 100 needed\)/);
    for (const { stderr } of [few, unknown]) expect(stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a damaged replay folder in one line", async () => {
    const folder = join(temp, "damaged");
    cpSync(join(temp, "results"), folder, { recursive: true });
    const [dir] = readdirSync(folder);
    writeFileSync(join(folder, dir!, "replay.json"), '{"kind": "replay"');
    const { code, stderr } = await anis("report", join(folder, dir!));
    expect(code).toBe(2);
    expect(stderr).toMatch(/replay\.json: not a readable replay manifest/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [["replay", "--trajectories", FIXTURES, "--pipelines", "gpt-5", "--vaccinators", "none", "--defenses", "none", "--out", join(temp, "r5")], /unknown pipeline "gpt-5" in .*Valid pipelines: Meta-SecAlign-70B, gpt-4o-2024-05-13/],
    [["replay", "--trajectories", FIXTURES, "--vaccinators", "bogus", "--out", join(temp, "r2")], /unknown vaccinator "bogus". Valid vaccinators: exact-signatures, negative-selection, naive-bayes, naive-bayes-thymus, behaviour, effect, co-stimulation, all, or none/],
    [["replay", "--trajectories", join(temp, "nowhere")], /--trajectories .*nowhere: not found/],
    [["replay", "--trajectories", FIXTURES, "--defenses", "nope", "--out", join(temp, "r3")], /unknown defense configuration "nope"/],
    [["import-trajectories", "--from", "/dev/null", "--out", join(temp, "r4")], /\/dev\/null: not a folder, an archive or a \.json log/],
  ])("%j exits 2 with one message", async (args, message) => {
    const { code, stderr } = await anis(...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });
});
