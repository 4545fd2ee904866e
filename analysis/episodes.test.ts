import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadRunConfig } from "../benchmarks/runner/config.ts";
import { executeRun } from "../benchmarks/runner/run.ts";
import { episodeStory, listEpisodes } from "./episodes.ts";
import { openResults, queryRows, type ResultsDatabase } from "./results.ts";

/** A real run's episodes read back as stories: l1 under the obedient model, where the approver decides. */
const ROOT = fileURLToPath(new URL("../", import.meta.url));
let dir: string;
let db: ResultsDatabase;
beforeAll(async () => {
  const config = { ...loadRunConfig("quick"), suites: ["workspace", "devops"], agents: ["single"], defenses: ["none", "l1", "l2"], sample: 30 };
  dir = (await executeRun({ config, out: mkdtempSync(join(tmpdir(), "anis-show-")), runId: "show", endpoint: {} })).dir;
  db = await openResults([dir]);
  return () => db.close();
}, 240_000);

describe("an episode's story", () => {
  it("an attack that l1 asked approval for: the request, the call, the verdict with its reason and the approver's answer, the outcome and why", async () => {
    const [asked] = await queryRows(db.connection, "SELECT episode_id, attack_success FROM episodes WHERE defense = 'l1' AND attack_id IS NOT NULL AND approvals > 0 ORDER BY episode_id LIMIT 1");
    const story = await episodeStory(db, String(asked!.episode_id));
    const lines = story.split("\n");
    expect(lines[1]).toMatch(/^ {2}l1 × sim:obedient · suite \w+ · agent system single · task \S+ · seed 1$/);
    expect(lines[2]).toMatch(/^ {2}attack \S+ · family \S+ · surface \S+ · goal \S+ · split \w+/);
    expect(lines[3]).toMatch(asked!.attack_success ? /^outcome: attack succeeded/ : /^outcome: attack failed/);
    expect(lines[4]).toMatch(asked!.attack_success ? /^why: a layer asked for approval and the approver said yes: L1 / : /^why: (stopped by L1 |no layer stopped)/);
    expect(story).toMatch(/^# {2}0 {2}assistant {4}user {9}\S/m);
    // What the model was told before the task: its system prompt, and each tool as it was offered.
    expect(story).toMatch(/^# +\d+ {2}assistant {4}system {7}You are /m);
    expect(story).toMatch(/^# +\d+ {2}assistant {4}tool offered \[tool:\w+\] \S/m);
    expect(story).toMatch(/DEFENSE {6}L1 \S+ onToolCall on \S+: ASK_APPROVAL \(\S+\) — .* → approver (approved|refused)/);
    // Each model call with what it was sent; a call the approver refused is in the story and says it did not run.
    expect(story).toMatch(/^# +\d+ {2}assistant {4}model call {3}\d+ messages \(system 1, human 1.*\), sha256 [0-9a-f]{16}$/m);
    const [refused] = await queryRows(db.connection, "SELECT episode_id FROM episodes WHERE defense = 'l1' AND approvals_denied > 0 ORDER BY episode_id LIMIT 1");
    const refusedStory = await episodeStory(db, String(refused!.episode_id));
    expect(refusedStory).toContain("→ approver refused");
    expect(refusedStory).toMatch(/^# +\d+ {2}assistant {4}tool call {4}\w+: .* — not run \(denied\)$/m);
    // Events in the order they happened: the verdict on a call comes before the call runs.
    const seqs = [...story.matchAll(/^# *(\d+) /gm)].map((m) => Number(m[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("the simulated model's decision on a planted text: where it read it, what it perceived, p, the draw and its choice", async () => {
    const [decided] = await queryRows(db.connection, "SELECT v.episode_id, v.detail FROM events v JOIN episodes e USING (episode_id) WHERE v.kind = 'model_decision' AND e.defense = 'none' ORDER BY v.episode_id, v.seq LIMIT 1");
    const decision = JSON.parse(String(decided!.detail)) as { payload: string; channel: string; p: number; draw: number | null; followed: boolean };
    const story = await episodeStory(db, String(decided!.episode_id));
    expect(story).toContain(`decision     read planted text ${decision.payload} in ${decision.channel}: compliance p ${decision.p.toFixed(3)}, `);
    expect(story).toContain(decision.followed ? "→ FOLLOWS it" : "→ does not follow it");
    // Undefended, the decision is the whole reason.
    expect(story.split("\n")[4]).toMatch(decision.followed ? /^why: (no layer acted, and the model followed the planted text|no layer stopped anything)/ : /^why: no layer stopped anything; the model read the planted text and did not follow it/);
  });

  it("a result a layer rewrote shows the original and, beside it, what the agent read", async () => {
    const [marked] = await queryRows(db.connection, "SELECT episode_id, delivered FROM events WHERE kind = 'tool_result' AND delivered IS NOT NULL ORDER BY episode_id, seq LIMIT 1");
    const story = await episodeStory(db, String(marked!.episode_id));
    expect(story).toContain("→ as the agent read it, after the layers' rewrites:");
    expect(story).toContain(String(marked!.delivered).split("\n")[0]);
  });

  it("lists the episodes a filter matches, and names the closest ids for one it does not know", async () => {
    const { lines, matched } = await listEpisodes(db, { defense: "l1", outcome: "attack-succeeded", limit: 2 });
    const [{ n }] = (await queryRows(db.connection, "SELECT count(*) AS n FROM episodes WHERE defense = 'l1' AND attack_id IS NOT NULL AND error IS NULL AND attack_success")) as [{ n: number }];
    expect(matched).toBe(n);
    expect(lines.length).toBe(Math.min(2, n));
    for (const line of lines) expect(line).toMatch(/^ep-\w+ {2}l1 × sim:obedient {2}\S+ {2}attack succeeded/);
    await expect(episodeStory(db, "ep-unknown")).rejects.toThrow(/^no episode ep-unknown in these runs; the closest ids: ep-\w+, ep-\w+, ep-\w+\. List episodes with anis show RUN_DIR/);
  });

  it("anis show prints it from the command line", async () => {
    const [one] = await queryRows(db.connection, "SELECT episode_id FROM episodes WHERE attack_id IS NULL ORDER BY episode_id LIMIT 1");
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", "show", dir, String(one!.episode_id)], { cwd: ROOT }, (error, out) => (error ? reject(error) : resolve(out))),
    );
    expect(stdout).toMatch(new RegExp(`^episode ${one!.episode_id} \\(run show\\)\\n`));
    expect(stdout).toMatch(/\noutcome: benign, task (done|not done); /);
  });
});
