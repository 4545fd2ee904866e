#!/usr/bin/env bash
# ANIS Bench on Slurm: one array task per shard, each taking its shard from SLURM_ARRAY_TASK_ID and
# SLURM_ARRAY_TASK_COUNT (`run --shard auto`). Folders are named by the array's job id, so a submission never resumes
# or pools another's; a requeued task finds its own folder and resumes it. Submit from the repository (after
# `npm ci`), then pool when the array is done:
#   jobid=$(sbatch --parsable deploy/slurm/array.sh)
#   sbatch --dependency=afterok:$jobid --wrap "npm run --silent anis -- report 'results/default-$jobid-shard*' --format md > results/report-$jobid.md"
#SBATCH --job-name=anis-bench
#SBATCH --array=1-4
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/../..}"

index=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-1} + 1))
dir="results/default-${SLURM_ARRAY_JOB_ID}-shard${index}of${SLURM_ARRAY_TASK_COUNT}"
if [ -f "$dir/manifest.json" ]; then
  exec npx tsx benchmarks/cli/main.ts run --resume "$dir" --retry-errors
fi
exec npx tsx benchmarks/cli/main.ts run --config default --shard auto --run-id "default-${SLURM_ARRAY_JOB_ID}" --out results
