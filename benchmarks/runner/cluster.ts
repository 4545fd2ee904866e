import { RunConfigError } from "./config.ts";
import type { Shard } from "./matrix.ts";

/**
 * The shard of a run started by a cluster engine (`run --shard auto`), from the engine's environment:
 * - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based); the count from `--shards N` or `ANIS_SHARDS`, which
 *   the job sets to its `completions` (deploy/kubernetes/indexed-job.yaml);
 * - Slurm job arrays: `SLURM_ARRAY_TASK_ID` counted from `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`
 *   (deploy/slurm/array.sh).
 * Shards are 1-based (`I/N`); together they cover every campaign once and pool to the unsharded run.
 */
export function shardFromEnvironment(env: Readonly<Record<string, string | undefined>>, shards?: number): Shard {
  const integer = (name: string): number | undefined => {
    const value = env[name];
    if (value === undefined || value === "") return undefined;
    if (!/^\d{1,7}$/.test(value)) throw new RunConfigError(`--shard auto: ${name}=${JSON.stringify(value)} is not a whole number`);
    return Number(value);
  };
  const checked = (index: number, count: number, from: string): Shard => {
    if (count < 1 || index < 1 || index > count) throw new RunConfigError(`--shard auto: ${from} gives shard ${index} of ${count}, which is not I/N with 1 ≤ I ≤ N`);
    return { index, count };
  };
  const k8s = integer("JOB_COMPLETION_INDEX");
  if (k8s !== undefined) {
    const count = shards ?? integer("ANIS_SHARDS");
    if (count === undefined) throw new RunConfigError("--shard auto: a Kubernetes Indexed Job gives the index (JOB_COMPLETION_INDEX) but not the count: pass --shards N or set ANIS_SHARDS to the job's completions");
    return checked(k8s + 1, count, "JOB_COMPLETION_INDEX");
  }
  const slurm = integer("SLURM_ARRAY_TASK_ID");
  if (slurm !== undefined) {
    const count = shards ?? integer("SLURM_ARRAY_TASK_COUNT");
    if (count === undefined) throw new RunConfigError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --shards N");
    return checked(slurm - (integer("SLURM_ARRAY_TASK_MIN") ?? 0) + 1, count, "SLURM_ARRAY_TASK_ID");
  }
  throw new RunConfigError("--shard auto: no cluster engine in the environment (JOB_COMPLETION_INDEX of a Kubernetes Indexed Job, SLURM_ARRAY_TASK_ID of a Slurm job array); use --shard I/N by hand");
}
