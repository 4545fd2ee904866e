import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { rowsOfLog } from "./agentdojo.ts";
import { type Deployment, loadDeployment } from "./deployment.ts";
import { parseLog, placeOf } from "./format.ts";
import { readSource } from "./source.ts";
import { type TrajectoryManifest, TrajectoryWriter } from "./writer.ts";

/**
 * Imports real agents' runs — AgentDojo's `runs/` layout, as a folder or a tar archive — into trajectory tables in
 * `out` (which must be new or empty): `runs.parquet`, `tool_outputs.parquet`, `model_calls.parquet`, the deployment
 * they were read with and the manifest `trajectories.json`. Files stream through one at a time, so memory stays
 * bounded whatever the source's size. A file that is not a run log is named with its problem in the manifest;
 * nothing is skipped silently.
 */
export async function importTrajectories(options: {
  readonly from: string;
  readonly out: string;
  readonly deployment?: Deployment;
  readonly onFile?: (files: number) => void;
}): Promise<TrajectoryManifest> {
  const deployment = options.deployment ?? loadDeployment();
  const writer = new TrajectoryWriter(options.out, deployment);
  const malformed: { path: string; problem: string }[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let seen = 0;
  try {
    const fromKind = await readSource(options.from, (file) => {
      if (++seen % 1000 === 0) options.onFile?.(seen);
      if ("skipped" in file) return void skipped.push({ path: file.path, reason: file.skipped });
      const place = placeOf(file.path);
      if (!place) return void skipped.push({ path: file.path, reason: "not a run log: expected <pipeline>/<suite>/<user_task>/<attack>/<injection_task>.json" });
      const parsed = parseLog(file.bytes, place);
      if ("problem" in parsed) return void malformed.push({ path: file.path, problem: parsed.problem });
      // By its place in the layout, so a folder and an archive of it (with or without runs/ above) digest alike.
      const problem = writer.add(rowsOfLog(parsed.log, place, file.path, deployment), file.path, createHash("sha256").update(file.bytes).digest("hex"));
      if (problem) malformed.push({ path: file.path, problem });
    });
    options.onFile?.(seen);
    return await writer.finish({ from: resolve(options.from), fromKind, files: seen, malformed, skipped });
  } catch (error) {
    writer.abort();
    throw error;
  }
}
