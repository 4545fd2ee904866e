import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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
    const slurm = [1, 2, 3].map((id) => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "3" }));
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
  it("the Kubernetes manifest parses; its shard count, index variable and pooling step agree", () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, "deploy/kubernetes/indexed-job.yaml"), "utf8")).map((d) => d.toJS());
    const shards = docs.find((d) => d.kind === "Job" && d.spec.completionMode === "Indexed");
    const pool = docs.find((d) => d.kind === "Job" && d !== shards);
    const container = shards.spec.template.spec.containers[0];
    const count = shards.spec.completions;
    expect(container.env).toContainEqual({ name: "ANIS_SHARDS", value: String(count) });
    expect(container.args.join(" ")).toMatch(/--shard auto --run-id default --out \/results/);
    expect(container.args.join(" ")).toContain("default-shard$((JOB_COMPLETION_INDEX + 1))of${ANIS_SHARDS}");
    expect(pool.spec.template.spec.containers[0].args.join(" ")).toContain(`/results/default-shard*of${count}/manifest.json 2>/dev/null | wc -l)" -eq ${count}`);
    expect(docs.filter((d) => d.kind === "PersistentVolumeClaim").map((d) => d.metadata.name)).toEqual([shards.spec.template.spec.volumes[0].persistentVolumeClaim.claimName]);
  });

  it("the Slurm script's shard arithmetic under a fake array environment: start, and resume a task's own folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-slurm-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    // `npx` that prints what it was asked to run.
    writeFileSync(join(bin, "npx"), '#!/bin/sh\necho "$@"\n');
    chmodSync(join(bin, "npx"), 0o755);
    mkdirSync(join(dir, "results", "default-shard2of3"), { recursive: true });
    writeFileSync(join(dir, "results", "default-shard2of3", "manifest.json"), "{}");
    const task = (id: number) =>
      new Promise<string>((resolve) =>
        execFile("bash", [join(ROOT, "deploy/slurm/array.sh")], { env: { PATH: `${bin}:${process.env.PATH}`, SLURM_SUBMIT_DIR: dir, SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "3" } }, (_e, stdout) =>
          resolve(stdout.trim()),
        ),
      );
    expect(await task(1)).toBe("tsx benchmarks/cli/main.ts run --config default --shard auto --run-id default --out results");
    expect(await task(2)).toBe("tsx benchmarks/cli/main.ts run --resume results/default-shard2of3 --retry-errors");
  });
});
