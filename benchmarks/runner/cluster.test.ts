import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { openResults } from "../../analysis/results.ts";
import { shardFromEnvironment } from "./cluster.ts";
import { loadRunConfig } from "./config.ts";
import { resultsDigest } from "./journal.ts";
import { executeRun } from "./run.ts";

/** `--shard auto` and the cluster recipes, tested as far as a machine without a cluster allows. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function anis(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env } }, (_e, _out, stderr) => resolve({ code: child.exitCode, stderr }));
  });
}

describe("--shard auto", () => {
  it("maps each engine's variables to shards 1..N, each once", () => {
    const k8s = [0, 1, 2, 3].map((i) => shardFromEnvironment({ JOB_COMPLETION_INDEX: String(i), ANIS_SHARDS: "4" }));
    expect(k8s).toEqual([1, 2, 3, 4].map((index) => ({ index, count: 4 })));
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: "2" }, 3)).toEqual({ index: 3, count: 3 });
    const slurm = [1, 2, 3].map((id) => shardFromEnvironment({ SLURM_ARRAY_JOB_ID: "77", SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "3" }));
    expect(slurm).toEqual([1, 2, 3].map((index) => ({ index, count: 3 })));
    const fromZero = [0, 1].map((id) => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: "0", SLURM_ARRAY_TASK_COUNT: "2" }));
    expect(fromZero).toEqual([1, 2].map((index) => ({ index, count: 2 })));
  });

  it("says what is missing or wrong", () => {
    expect(() => shardFromEnvironment({})).toThrow(/no cluster engine in the environment/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: "0" })).toThrow(/pass --shards N or set ANIS_SHARDS/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: "4", ANIS_SHARDS: "4" })).toThrow(/shard 5 of 4/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_COUNT: "2" })).toThrow(/SLURM_ARRAY_TASK_ID="x" is not a whole number/);
  });

  it("runs started by an Indexed Job and by a Slurm array name their folders by shard and pool to the unsharded run", async () => {
    const out = mkdtempSync(join(tmpdir(), "anis-cluster-"));
    const config = { ...loadRunConfig("quick"), suites: ["workspace"], agents: ["single"], defenses: ["none", "l1"], models: ["sim:obedient"], sample: 10 };
    const file = join(out, "config.json");
    writeFileSync(file, JSON.stringify(config));
    const whole = await executeRun({ config, out, runId: "whole", endpoint: {} });
    const runs = await Promise.all([
      anis({ JOB_COMPLETION_INDEX: "0", ANIS_SHARDS: "2" }, "run", "--config", file, "--shard", "auto", "--run-id", "k8s", "--out", out),
      anis({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "2" }, "run", "--config", file, "--shard", "auto", "--run-id", "k8s", "--out", out),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const db = await openResults([join(out, "k8s-shard1of2"), join(out, "k8s-shard2of2")]);
    try {
      expect(await resultsDigest(db.connection, "episodes", "events")).toEqual(whole.digest);
    } finally {
      db.close();
    }
  });
});

describe("the cluster recipes", () => {
  it("the Kubernetes manifest parses; its shard count, submission, index variable and pooling step agree; it runs as a user", () => {
    const text = readFileSync(join(ROOT, "deploy/kubernetes/indexed-job.yaml"), "utf8");
    const docs = parseAllDocuments(text.replaceAll("SUBMISSION_ID", "20261204-000000")).map((d) => d.toJS());
    const shards = docs.find((d) => d.kind === "Job" && d.spec.completionMode === "Indexed");
    const pool = docs.find((d) => d.kind === "Job" && d !== shards);
    const container = shards.spec.template.spec.containers[0];
    const pooler = pool.spec.template.spec.containers[0];
    const count = shards.spec.completions;
    for (const c of [container, pooler]) {
      expect(c.env).toContainEqual({ name: "ANIS_SHARDS", value: String(count) });
      expect(c.env).toContainEqual({ name: "ANIS_SUBMISSION", value: "20261204-000000" });
    }
    // Each submission's folders, and its Jobs, are named by it: a new submission never resumes or pools an old one.
    expect(shards.metadata.name).toBe("anis-bench-shards-20261204-000000");
    expect(container.args.join(" ")).toContain('--shard auto --run-id "${ANIS_SUBMISSION}-default" --out /results');
    expect(container.args.join(" ")).toContain("dir=/results/${ANIS_SUBMISSION}-default-shard$((JOB_COMPLETION_INDEX + 1))of${ANIS_SHARDS}");
    expect(pooler.command).toEqual(["/bin/sh", "deploy/pool.sh"]);
    // A CPU limit, so that `--workers auto` starts one worker per CPU the pod may use.
    expect(container.resources.limits.cpu).toBe("2");
    for (const job of [shards, pool]) expect(job.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
    expect(docs.filter((d) => d.kind === "PersistentVolumeClaim").map((d) => [d.metadata.name, d.spec.accessModes])).toEqual([[shards.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, ["ReadWriteMany"]]]);
    const dockerfile = readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^ARG COMMIT=unknown\nENV ANIS_COMMIT=\$COMMIT\nUSER node$/m);
    expect(dockerfile).toContain("COPY deploy ./deploy");
  });

  describe("the pooling step (deploy/pool.sh: real sh and node, an npx that prints what it is asked)", () => {
    const setup = () => {
      const dir = mkdtempSync(join(tmpdir(), "anis-pool-sh-"));
      const bin = join(dir, "bin");
      mkdirSync(bin);
      writeFileSync(join(bin, "npx"), '#!/bin/sh\necho "npx $@"\n');
      chmodSync(join(bin, "npx"), 0o755);
      const manifest = (name: string, status: string) => {
        mkdirSync(join(dir, name), { recursive: true });
        writeFileSync(join(dir, name, "manifest.json"), JSON.stringify({ status }, null, 2));
      };
      const pool = (env: Record<string, string>) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const child = execFile("sh", [join(ROOT, "deploy/pool.sh")], { cwd: ROOT, env: { PATH: `${bin}:${process.env.PATH}`, RESULTS: dir, ANIS_SHARDS: "2", ANIS_POOL_POLL_S: "0", ...env } }, (_e, stdout, stderr) =>
            resolve({ code: child.exitCode, stdout, stderr }),
          );
        });
      return { dir, manifest, pool };
    };

    it("pools only this submission's shards once each manifest says complete, whatever an earlier submission left", async () => {
      const { dir, manifest, pool } = setup();
      manifest("s2-default-shard1of2", "complete");
      manifest("s2-default-shard2of2", "complete");
      manifest("s1-default-shard1of2", "running");
      const { code, stdout } = await pool({ ANIS_SUBMISSION: "s2", ANIS_POOL_DEADLINE_S: "60" });
      expect(code).toBe(0);
      // The report goes to its file; the leaderboard command prints.
      expect(stdout.trim()).toBe(`npx tsx benchmarks/cli/main.ts leaderboard ${dir}/s2-default-shard*of2 --out ${dir}/s2-leaderboard`);
      expect(readFileSync(join(dir, "s2-report.md"), "utf8")).toBe(`npx tsx benchmarks/cli/main.ts report ${dir}/s2-default-shard*of2 --format md\n`);
    });

    it("a shard that never completes: the pool gives up at its deadline, names each shard's state, and pools nothing", async () => {
      const { dir, manifest, pool } = setup();
      manifest("s3-default-shard1of2", "complete");
      manifest("s3-default-shard2of2", "failed");
      const { code, stderr, stdout } = await pool({ ANIS_SUBMISSION: "s3", ANIS_POOL_DEADLINE_S: "1" });
      expect(code).toBe(1);
      expect(stderr).toContain("shards: 1 complete, 2 failed");
      expect(stderr).toContain("error: not every shard of submission s3 completed within 1 s; nothing pooled");
      expect(stdout).toBe("");
      expect(existsSync(join(dir, "s3-report.md"))).toBe(false);
    });
  });

  it("the Slurm script's shard arithmetic under a fake array environment: start, and resume a task's own folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-slurm-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    // `npx` that prints what it was asked to run.
    writeFileSync(join(bin, "npx"), '#!/bin/sh\necho "$@"\n');
    chmodSync(join(bin, "npx"), 0o755);
    mkdirSync(join(dir, "results", "default-77-shard2of3"), { recursive: true });
    writeFileSync(join(dir, "results", "default-77-shard2of3", "manifest.json"), "{}");
    // An earlier submission's folder for the same shard: never resumed by this one.
    mkdirSync(join(dir, "results", "default-76-shard1of3"), { recursive: true });
    writeFileSync(join(dir, "results", "default-76-shard1of3", "manifest.json"), "{}");
    const task = (id: number) =>
      new Promise<string>((resolve) =>
        execFile("bash", [join(ROOT, "deploy/slurm/array.sh")], { env: { PATH: `${bin}:${process.env.PATH}`, SLURM_SUBMIT_DIR: dir, SLURM_ARRAY_JOB_ID: "77", SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "3" } }, (_e, stdout) =>
          resolve(stdout.trim()),
        ),
      );
    expect(await task(1)).toBe("tsx benchmarks/cli/main.ts run --config default --shard auto --run-id default-77 --out results");
    expect(await task(2)).toBe("tsx benchmarks/cli/main.ts run --resume results/default-77-shard2of3 --retry-errors");
  });
});
