import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The CPUs this process may use under its cgroup's quota (Kubernetes `resources.limits.cpu`, Docker `--cpus`,
 * Slurm with cgroups), or null where none is set. A pod limited to 2 CPUs on a 64-core node sees 64 cores:
 * starting a worker per core would oversubscribe it 32 times, or run it out of memory. Reads cgroup v2 (`cpu.max`)
 * and v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) from the process's own cgroup up to the root, and takes the
 * tightest.
 */
export function cpuQuota(root = "/sys/fs/cgroup", self = "/proc/self/cgroup"): number | null {
  let membership: string;
  try {
    membership = readFileSync(self, "utf8");
  } catch {
    return null;
  }
  const quotas: number[] = [];
  for (const line of membership.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === "") quotas.push(...along(join(root), path, (dir) => v2Quota(dir)), ...along(join(root, "unified"), path, (dir) => v2Quota(dir)));
    else if (controllers!.split(",").includes("cpu")) quotas.push(...along(join(root, controllers!), path, (dir) => v1Quota(dir)));
  }
  return quotas.length > 0 ? Math.min(...quotas) : null;
}

/** The quota of each cgroup from `path` up to the hierarchy's root. */
function along(hierarchy: string, path: string, read: (dir: string) => number | null): number[] {
  const quotas: number[] = [];
  const parts = path.split("/").filter(Boolean);
  for (let depth = parts.length; depth >= 0; depth--) {
    const quota = read(join(hierarchy, ...parts.slice(0, depth)));
    if (quota !== null) quotas.push(quota);
  }
  return quotas;
}

const readText = (file: string) => {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
};

function v2Quota(dir: string): number | null {
  const [quota, period] = readText(join(dir, "cpu.max"))?.split(/\s+/) ?? [];
  return quota === undefined || quota === "max" ? null : positive(Number(quota) / Number(period ?? 100_000));
}

function v1Quota(dir: string): number | null {
  const quota = Number(readText(join(dir, "cpu.cfs_quota_us")));
  const period = Number(readText(join(dir, "cpu.cfs_period_us")));
  return quota > 0 ? positive(quota / period) : null;
}

const positive = (n: number) => (Number.isFinite(n) && n > 0 ? n : null);
