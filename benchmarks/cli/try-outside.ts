import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openResults, queryRows } from "../../analysis/results.ts";
import { ungrounded } from "../../agents/models/sim/grounding.ts";
import { Perception } from "../../agents/models/sim/perception.ts";
import { SIM_PROFILES } from "../../agents/models/sim/profiles.ts";
import type { AttackCase } from "../../attacks/schema.ts";
import { RunConfigSchema } from "../runner/config.ts";
import { executeRun } from "../runner/run.ts";
import { extendSuites } from "../suites/extend.ts";
import { getSuite } from "../suites/registry.ts";
import type { Suite } from "../suites/suite.ts";

/** The model outside work is tried on: it follows every instruction it can read, so what fails under it cannot work. */
const TRIAL_MODEL = "sim:obedient";

/**
 * Runs outside work before anyone relies on it: each hand-written attack case undefended under the obedient model
 * (a case that cannot succeed there measures nothing), and each benign task undefended (a task that cannot be done
 * makes every layer look harmful). Returns one problem per case or task that fails, with the reason.
 */
export async function tryOutsideWork(work: { readonly cases: readonly { readonly file: string; readonly c: AttackCase }[]; readonly caseFiles: readonly string[]; readonly families: readonly string[]; readonly tasks: readonly string[] }): Promise<string[]> {
  const taskSuites = work.tasks.map((file) => (JSON.parse(readFileSync(file, "utf8")) as { suite: string }).suite);
  const suites = [...new Set([...work.cases.map((e) => e.c.suite), ...taskSuites])];
  if (suites.length === 0) return [];
  const agents = [...new Set([...work.cases.map((e) => e.c.agent), ...(work.tasks.length > 0 ? ["single"] : [])])];
  const config = RunConfigSchema.parse({
    name: "validate",
    description: "outside work, tried undefended",
    suites,
    agents,
    defenses: ["none"],
    models: [TRIAL_MODEL],
    seeds: 1,
    attacks: work.cases.map((e) => e.c.id).join(","),
    benign: work.tasks.length > 0,
    cases: work.caseFiles,
    families: work.families,
    tasks: work.tasks,
    only_outside: true,
  });
  const out = mkdtempSync(join(tmpdir(), "anis-validate-"));
  try {
    const summary = await executeRun({ config, out, runId: "trial", endpoint: {} });
    const db = await openResults([summary.dir]);
    try {
      const attacks = await queryRows(db.connection, "SELECT attack_id, bool_or(attack_success) AS succeeded, string_agg(DISTINCT error_message, '; ') AS errors FROM episodes WHERE attack_id IS NOT NULL GROUP BY attack_id");
      const tasks = await queryRows(
        db.connection,
        `SELECT e.user_task, e.utility, e.error_message, (SELECT detail FROM events v WHERE v.episode_id = e.episode_id AND v.kind = 'model_output' ORDER BY seq DESC LIMIT 1) AS last_words
         FROM episodes e WHERE e.attack_id IS NULL`,
      );
      const problems: string[] = [];
      const byId = new Map(work.cases.map((e) => [e.c.id, e]));
      // The worlds the diagnosis reads carry the outside tasks' entries.
      const suitesWithTasks = work.tasks.length > 0 ? extendSuites(work.tasks) : new Map<string, Suite<unknown>>();
      for (const row of attacks) {
        if (row.succeeded === true) continue;
        const { file, c } = byId.get(String(row.attack_id))!;
        problems.push(`${file}: ${c.id}: cannot succeed: undefended under ${TRIAL_MODEL}, which follows every instruction it can read, the attack failed: ${row.errors ? `episode error: ${row.errors}` : whyNot(c, suitesWithTasks)}`);
      }
      for (const row of tasks) {
        if (row.utility === true) continue;
        const file = work.tasks.find((f) => readFileSync(f, "utf8").includes(`"${String(row.user_task)}"`)) ?? work.tasks.join(", ");
        problems.push(`${file}: task ${row.user_task}: cannot be done: undefended under ${TRIAL_MODEL} its utility check failed${row.error_message ? ` (episode error: ${row.error_message})` : row.last_words ? `; the model's last words: "${String(row.last_words).slice(0, 300)}"` : ""}. Check its plan's values are in its world or its prompt, and its utility predicate`);
      }
      return problems;
    } finally {
      db.close();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * Why an attack the obedient model did not carry out: the arguments of its calls the model cannot write, because
 * their values are nowhere readable to it — not in the planted text (as a reader with its decoders reads it), the
 * data of its suite's world, or the user's requests.
 */
function whyNot(c: AttackCase, suites: ReadonlyMap<string, Suite<unknown>>): string {
  const suite = suites.get(c.suite) ?? getSuite(c.suite);
  const decodes = SIM_PROFILES.get(TRIAL_MODEL.slice("sim:".length))?.decodes ?? [];
  const payloads = [c.injection, ...c.carried];
  const reading = new Perception(
    [
      ...payloads.map((p) => ({ channel: "tool_output" as const, text: p.text })),
      { channel: "tool_output", text: JSON.stringify(suite.fixture()) },
      ...c.campaign.map((id) => ({ channel: "user" as const, text: suite.tasks.find((t) => t.id === id)?.prompt ?? "" })),
    ],
    decodes,
  );
  const missing = payloads.flatMap((p) => p.calls.map((call) => ({ call, args: ungrounded(call, reading) }))).filter((m) => m.args.length > 0);
  if (missing.length > 0) {
    return `the model cannot write ${missing.map((m) => `${m.call.tool}'s ${m.args.join(", ")} (${m.args.map((a) => JSON.stringify(m.call.args[a])).join(", ")})`).join("; ")}: no text it can read holds ${missing.length === 1 && missing[0]!.args.length === 1 ? "that value" : "those values"}: write ${missing.length === 1 && missing[0]!.args.length === 1 ? "it" : "them"} in the planted text as a model reads text (plainly, or in an encoding it decodes: ${(SIM_PROFILES.get(TRIAL_MODEL.slice(4))?.decodes ?? []).join(", ") || "none"})`;
  }
  return `its calls could be written, but its goal (${c.goal.kind}) did not hold after the episode: check the goal's predicate against the calls, and that the planted text reaches the agent (${c.injection.point})`;
}
