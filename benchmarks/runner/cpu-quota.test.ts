import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunConfig } from "./config.ts";
import { cpuQuota } from "./cpu-quota.ts";
import { workerCount } from "./pool.ts";

/** A cgroup file system as a container sees it, in a temporary folder: each file as the kernel writes it. */
function cgroups(files: Record<string, string>, membership: string) {
  const root = mkdtempSync(join(tmpdir(), "anis-cgroup-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  }
  writeFileSync(join(root, "self"), membership);
  return [root, join(root, "self")] as const;
}

describe("the CPUs a cgroup quota allows", () => {
  it("cgroup v2: a pod limited to 2 CPUs (cpu.max 200000 100000) gets 2 workers, whatever the node's cores", () => {
    const [root, self] = cgroups({ "kubepods/pod1/cpu.max": "200000 100000", "kubepods/cpu.max": "max 100000", "cpu.max": "max 100000" }, "0::/kubepods/pod1\n");
    expect(cpuQuota(root, self)).toBe(2);
    expect(workerCount({ ...loadRunConfig("default"), workers: "auto" }, cpuQuota(root, self))).toBe(Math.min(2, availableParallelism()));
  });

  it("cgroup v1 (cpu.cfs_quota_us / cpu.cfs_period_us), the tightest of the process's cgroup and its parents; 1.5 CPUs is one worker", () => {
    const [root, self] = cgroups({ "cpu,cpuacct/job/cpu.cfs_quota_us": "150000", "cpu,cpuacct/job/cpu.cfs_period_us": "100000", "cpu,cpuacct/cpu.cfs_quota_us": "-1", "cpu,cpuacct/cpu.cfs_period_us": "100000" }, "4:cpu,cpuacct:/job\n1:memory:/job\n");
    expect(cpuQuota(root, self)).toBe(1.5);
    expect(workerCount({ ...loadRunConfig("default"), workers: "auto" }, 1.5)).toBe(1);
  });

  it("no quota (max, -1, or no cgroup files): every core; endpoints get one worker; a number is kept", () => {
    const [root, self] = cgroups({ "cpu.max": "max 100000" }, "0::/\n");
    expect(cpuQuota(root, self)).toBeNull();
    expect(cpuQuota(join(root, "nowhere"), join(root, "nothing"))).toBeNull();
    expect(workerCount({ ...loadRunConfig("default"), workers: "auto" }, null)).toBe(availableParallelism());
    expect(workerCount({ ...loadRunConfig("default"), models: ["openai:gpt-4o"], workers: "auto" }, 2)).toBe(1);
    expect(workerCount({ ...loadRunConfig("default"), workers: 3 }, 1)).toBe(3);
  });
});
