import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDefenseService } from "../testing/defense-service.ts";

/**
 * A researcher's own work, from a folder outside the repository, through the real CLI: a family, hand-written
 * cases, a module defense and an HTTP defense, run and reported without changing a file of the project.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./fixtures/outside/", import.meta.url));

function anis(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd: ROOT, env: { ...process.env, OPENAI_BASE_URL: "" } }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

let outside: string;
let service: Awaited<ReturnType<typeof startDefenseService>>;
const common = ["--config", "quick", "--suites", "workspace", "--agents", "single", "--model", "sim:obedient"];

beforeAll(async () => {
  outside = mkdtempSync(join(tmpdir(), "anis-outside-"));
  cpSync(FIXTURES, outside, { recursive: true });
  service = await startDefenseService();
  writeFileSync(join(outside, "defenses", "sink-guard.json"), JSON.stringify({ name: "sink-guard", description: "the reference HTTP service", layers: [{ use: `http:${service.url}` }] }));
});
afterAll(() => service.close());

describe("work from outside the repository", () => {
  it("the guide's module layer is the example folder's own file, word for word: the one the tests run", () => {
    const guide = readFileSync(join(ROOT, "docs", "bring-your-own.md"), "utf8");
    const block = /## A defense layer as a module\n\n```ts\n\/\/ [^\n]*\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(block).toBe(readFileSync(join(FIXTURES, "defenses", "no-delete.ts"), "utf8"));
  });

  it("validate knows the family beside the cases, and names every problem of a bad case with its file", async () => {
    const good = await anis("validate", join(outside, "cases", "tickets.json"), join(outside, "families", "fake-ticket.json"), join(outside, "defenses", "no-delete.json"));
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/tickets\.json: 5 attack case\(s\) ok/);
    expect(good.stdout).toMatch(/no-delete\.json: defense configuration ok/);
    const bad = join(outside, "bad");
    mkdirSync(bad);
    writeFileSync(join(bad, "broken.json"), JSON.stringify([{ ...JSON.parse(readFileSync(join(outside, "cases", "tickets.json"), "utf8"))[0], id: "broken-ticket", campaign: ["no-such-task"] }]));
    const { code, stderr } = await anis("run", ...common, "--cases", bad, "--families", join(outside, "families"), "--out", join(outside, "results"));
    expect(code).toBe(2);
    expect(stderr).toMatch(/broken\.json: broken-ticket: campaign\.0: unknown user task "no-such-task" in suite workspace/);
    // A task file may add to the suite's world, never change it, and its task ids must be new.
    const tasks = JSON.parse(readFileSync(join(outside, "tasks", "lab-tasks.json"), "utf8"));
    writeFileSync(join(bad, "tasks.json"), JSON.stringify({ ...tasks, world: { ...tasks.world, today: "2030-01-01", inbox: [{ ...tasks.world.inbox[0], id: "m1" }] }, tasks: [{ ...tasks.tasks[0], id: "pay-rent" }] }));
    const refused = await anis("run", ...common, "--tasks", join(bad, "tasks.json"), "--out", join(outside, "results"));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("world.today: the suite's world already has it; a task file may add entries, not change them");
    expect(refused.stderr).toContain('world.inbox: an entry with id "m1" is already in the suite\'s world');
    expect(refused.stderr).toContain("tasks: id pay-rent is already a task of workspace; choose another id");
  });

  it("a family, five cases, three benign tasks, a module defense and an HTTP defense run together in worker threads; shards pool; a run without them does not", async () => {
    const args = [
      ...common,
      "--tasks", join(outside, "tasks"),
      "--cases", join(outside, "cases"),
      "--families", join(outside, "families"),
      "--attacks", "my-ticket-*,fake-ticket--*",
      "--defenses", ["none", join(outside, "defenses", "no-delete.json"), join(outside, "defenses", "sink-guard.json")].join(","),
      "--out", join(outside, "results"),
    ];
    // Two worker threads each: the module layer loads in every thread as in one process.
    const shards = await Promise.all([1, 2].map((i) => anis("run", ...args, "--shard", `${i}/2`, "--run-id", `mine-${i}`, "--workers", "2")));
    for (const shard of shards) expect(shard.code, shard.stderr).toBe(0);
    const { code, stdout, stderr } = await anis("report", join(outside, "results", "mine-1"), join(outside, "results", "mine-2"), "--format", "json", "--by", "family");
    expect(code, stderr).toBe(0);
    const rows = JSON.parse(stdout) as { defense: string; family: string; asr: number; block_rate: number }[];
    expect(new Set(rows.map((r) => r.family))).toEqual(new Set(["fake-ticket"]));
    const byTask = JSON.parse((await anis("report", join(outside, "results", "mine-1"), join(outside, "results", "mine-2"), "--format", "json", "--by", "user_task")).stdout) as { defense: string; user_task: string; n_benign: number; benign_utility: number }[];
    const lab = byTask.filter((r) => r.defense === "none" && r.user_task.startsWith("lab-"));
    expect(lab.map((r) => [r.user_task, r.n_benign, r.benign_utility])).toEqual([["lab-save-lena", 1, 1], ["lab-share-slides", 1, 1], ["lab-slide-note", 1, 1]]);
    // The report of one's own tasks alone, from a run that holds the shipped ones too.
    const onlyLab = JSON.parse((await anis("report", join(outside, "results", "mine-1"), join(outside, "results", "mine-2"), "--format", "json", "--by", "user_task", "--tasks", "lab-*", "--attacks", "")).stdout) as typeof byTask;
    expect(new Set(onlyLab.map((r) => r.user_task))).toEqual(new Set(["lab-save-lena", "lab-share-slides", "lab-slide-note"]));
    expect(rows.find((r) => r.defense === "none")!.asr).toBeGreaterThan(0.8);
    expect(rows.find((r) => r.defense === "sink-guard")!.block_rate).toBeGreaterThan(0);
    expect(rows.find((r) => r.defense === "no-delete")!.block_rate).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(outside, "results", "mine-1", "manifest.json"), "utf8"));
    expect(manifest.config).toMatchObject({ cases: [join(outside, "cases")], families: [join(outside, "families")], tasks: [join(outside, "tasks")] });
    expect(manifest.suites[0]).toMatchObject({ name: "workspace", tasks: 30 });
    expect(manifest.defenses.find((d: { name: string }) => d.name === "no-delete").layers[0].source).toMatch(/^[0-9a-f]{16}$/);

    // A run of one's own work alone: the outside cases and tasks, nothing shipped.
    const only = await anis("run", ...common, "--tasks", join(outside, "tasks"), "--cases", join(outside, "cases"), "--families", join(outside, "families"), "--only-outside", "--defenses", "none", "--out", join(outside, "results"), "--run-id", "only");
    expect(only.code, only.stderr).toBe(0);
    const ran = JSON.parse((await anis("report", join(outside, "results", "only"), "--format", "json", "--by", "user_task,attack_id")).stdout) as { user_task: string; attack_id: string | null }[];
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.filter((r) => r.attack_id === null).every((r) => r.user_task.startsWith("lab-"))).toBe(true);
    expect(ran.filter((r) => r.attack_id !== null).every((r) => /^(my-ticket-|fake-ticket--)/.test(r.attack_id!))).toBe(true);

    const plain = await anis("run", ...common, "--no-benign", "--attacks", "email-*", "--defenses", "none", "--out", join(outside, "results"), "--run-id", "plain");
    expect(plain.code).toBe(0);
    const mixed = await anis("report", join(outside, "results", "mine-1"), join(outside, "results", "plain"));
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/refusing to pool these runs: the runs were made on different attack corpora/);
  });
});
