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
const common = ["--config", "quick", "--suites", "workspace", "--agents", "single", "--model", "sim:obedient", "--no-benign"];

beforeAll(async () => {
  outside = mkdtempSync(join(tmpdir(), "anis-outside-"));
  cpSync(FIXTURES, outside, { recursive: true });
  service = await startDefenseService();
  writeFileSync(join(outside, "defenses", "sink-guard.json"), JSON.stringify({ name: "sink-guard", description: "the reference HTTP service", layers: [{ use: `http:${service.url}` }] }));
});
afterAll(() => service.close());

describe("work from outside the repository", () => {
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
  });

  it("a family, five cases, a module defense and an HTTP defense run together; shards pool; a run without them does not", async () => {
    const args = [
      ...common,
      "--cases", join(outside, "cases"),
      "--families", join(outside, "families"),
      "--attacks", "my-ticket-*,fake-ticket--*",
      "--defenses", ["none", join(outside, "defenses", "no-delete.json"), join(outside, "defenses", "sink-guard.json")].join(","),
      "--out", join(outside, "results"),
    ];
    const shards = await Promise.all([1, 2].map((i) => anis("run", ...args, "--shard", `${i}/2`, "--run-id", `mine-${i}`)));
    for (const shard of shards) expect(shard.code, shard.stderr).toBe(0);
    const { code, stdout, stderr } = await anis("report", join(outside, "results", "mine-1"), join(outside, "results", "mine-2"), "--format", "json", "--by", "family");
    expect(code, stderr).toBe(0);
    const rows = JSON.parse(stdout) as { defense: string; family: string; asr: number; block_rate: number; attack_n: number }[];
    expect(new Set(rows.map((r) => r.family))).toEqual(new Set(["fake-ticket"]));
    expect(rows.find((r) => r.defense === "none")!.asr).toBeGreaterThan(0.8);
    expect(rows.find((r) => r.defense === "sink-guard")!.block_rate).toBeGreaterThan(0);
    expect(rows.find((r) => r.defense === "no-delete")!.block_rate).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(outside, "results", "mine-1", "manifest.json"), "utf8"));
    expect(manifest.config).toMatchObject({ cases: [join(outside, "cases")], families: [join(outside, "families")] });
    expect(manifest.defenses.find((d: { name: string }) => d.name === "no-delete").layers[0].source).toMatch(/^[0-9a-f]{16}$/);

    const plain = await anis("run", ...common, "--attacks", "email-*", "--defenses", "none", "--out", join(outside, "results"), "--run-id", "plain");
    expect(plain.code).toBe(0);
    const mixed = await anis("report", join(outside, "results", "mine-1"), join(outside, "results", "plain"));
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/refusing to pool these runs: the runs were made on different attack corpora/);
  });
});
