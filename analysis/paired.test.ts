import { cpSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EpisodeRow } from "../benchmarks/runner/tables.ts";
import { buildLeaderboard } from "./leaderboard.ts";
import { computePaired, computeReport, type PairedRow } from "./report.ts";
import { openResults, type ResultsDatabase, resolveRunDirs } from "./results.ts";
import { row, writeFixtureRun } from "./test-support.ts";

/**
 * Paired comparison on a hand-computed fixture: 100 attack campaigns under A and B with cells n11 = 40 (both
 * succeed), n10 = 12 (A only), n01 = 3 (B only), n00 = 45. By hand (Newcombe 1998, method 10; exact binomial):
 *   rate A = 0.52, rate B = 0.43, difference B − A = −0.09,
 *   Wilson A [0.4231, 0.6154], B [0.3356, 0.5297], phi (continuity-corrected) = (40·45 − 12·3 − 50)/√(52·48·43·57) = 0.69297,
 *   interval [−0.16371, −0.01372], McNemar p = 2·(1 + 15 + 105 + 455)/2^15 = 0.03515625.
 */
function fixture(): EpisodeRow[] {
  const rows: EpisodeRow[] = [];
  const cells: [number, boolean, boolean][] = [
    [40, true, true],
    [12, true, false],
    [3, false, true],
    [45, false, false],
  ];
  let i = 0;
  for (const [count, a, b] of cells) {
    for (let k = 0; k < count; k++, i++) {
      rows.push(row({ defense: "A", user_task: "t", attack_id: `c${i}`, surface: "tool_output", attack_success: a }));
      rows.push(row({ defense: "B", user_task: "t", attack_id: `c${i}`, surface: "tool_output", attack_success: b }));
    }
  }
  for (const [task, a, b] of [["t1", true, true], ["t2", true, false], ["t3", true, true]] as const) {
    rows.push(row({ defense: "A", user_task: task, utility: a }), row({ defense: "B", user_task: task, utility: b }));
  }
  rows.push(row({ defense: "A", user_task: "t4" }), row({ defense: "B", user_task: "t4", error: "model_error", utility: false }));
  return rows;
}

describe("paired comparison of two configurations", () => {
  let db: ResultsDatabase;
  let rows: PairedRow[];
  beforeAll(async () => {
    db = await openResults([await writeFixtureRun(fixture())]);
    rows = await computePaired(db, "A", "B");
  });
  afterAll(() => db.close());

  it("counts the cells on the same (case, seed) pairs", () => {
    expect(rows.find((r) => r.metric === "asr")).toMatchObject({ n: 100, n11: 40, n10: 12, n01: 3, n00: 45, errored: 0, rate_a: 0.52, rate_b: 0.43 });
  });

  it("gives the exact McNemar p and Newcombe's interval of the hand computation", () => {
    const asr = rows.find((r) => r.metric === "asr")!;
    expect(asr.difference).toBeCloseTo(-0.09, 12);
    expect(asr.difference_lo).toBeCloseTo(-0.16371, 5);
    expect(asr.difference_hi).toBeCloseTo(-0.013717, 5);
    expect(asr.mcnemar_p).toBeCloseTo(0.03515625, 12);
  });

  it("pairs benign episodes by task and seed, leaving errored pairs out and counting them", () => {
    expect(rows.find((r) => r.metric === "benign_utility")).toMatchObject({ n: 3, n11: 2, n10: 1, n01: 0, n00: 0, errored: 1, mcnemar_p: 1 });
  });

  it("names the configurations a run holds when asked for one it does not", async () => {
    await expect(computePaired(db, "A", "tower")).rejects.toThrow(/configuration "tower" is not in these runs. Configurations in them: A, B/);
  });
});

describe("pooling run folders", () => {
  const renamed = (rows: ReturnType<typeof fixture>, run: string) => rows.map((r) => ({ ...r, run_id: run, episode_id: `${run}-${r.episode_id}` }));

  it("refuses runs in which the same episode appears twice: it would count twice", async () => {
    const one = await writeFixtureRun(fixture());
    const again = await writeFixtureRun(fixture());
    await expect(openResults([one, again])).rejects.toThrow(/episodes appear in more than one of them/);
  });

  it("refuses runs made on different corpora unless told to, and names them", async () => {
    const one = await writeFixtureRun(renamed(fixture(), "a"));
    const other = await writeFixtureRun(renamed(fixture(), "b"), { corpus: { cases: 1, hash: "another-corpus" } });
    await expect(openResults([one, other])).rejects.toThrow(/different attack corpora: fixture-corpus .* vs another-corpus/);
    const pooled = await openResults([one, other], { allowMixed: true });
    pooled.close();
  });

  it("refuses runs in which one configuration name means two configurations", async () => {
    const one = await writeFixtureRun(renamed(fixture(), "a"));
    const other = await writeFixtureRun(renamed(fixture(), "b"), { defenses: [{ name: "A", hash: "changed" }] });
    await expect(openResults([one, other])).rejects.toThrow(/configuration "A" differs between runs/);
  });

  it("refuses runs of different code or a different sample, naming each; pooled anyway, every row says what it rests on", async () => {
    const one = await writeFixtureRun(renamed(fixture(), "a"), { source_hash: "1111", config: { name: "fixture", sample: 8 } });
    const other = await writeFixtureRun(renamed(fixture(), "b"), { source_hash: "2222", config: { name: "fixture", sample: 16 } });
    await expect(openResults([one, other])).rejects.toThrow(
      new RegExp(`the runs differ in code: 1111 \\(commit 0000000\\) \\(${one}\\) vs 2222 \\(commit 0000000\\) \\(${other}\\); the runs differ in sample: 8 \\(${one}\\) vs 16 \\(${other}\\)`),
    );
    const pooled = await openResults([one, other], { allowMixed: true });
    try {
      const rows = await computeReport(pooled);
      expect(rows.map((r) => r.mixed)).toEqual(rows.map(() => "code 1111 (commit 0000000), sample 8 + code 2222 (commit 0000000), sample 16"));
    } finally {
      pooled.close();
    }
    const out = mkdtempSync(join(tmpdir(), "anis-mixed-board-"));
    await buildLeaderboard([one, other], { out, maxAutoimmunity: 1, maxHarmfulAutoimmunity: 1, maxErrorRate: 1, baseline: "A", allowMixed: true });
    expect(readFileSync(join(out, "leaderboard.md"), "utf8")).toContain("**Pooled from runs that differ** (--allow-mixed); what each row rests on: ");
    // Shards of one run, and runs of other configurations made the same way, pool without a label.
    const same = await openResults([one, await writeFixtureRun(renamed(fixture(), "c"), { source_hash: "1111", config: { name: "fixture", sample: 8 } })]);
    try {
      expect((await computeReport(same)).every((r) => r.mixed === undefined)).toBe(true);
    } finally {
      same.close();
    }
  });

  it("finds run folders by folder of runs and by pattern", async () => {
    const parent = mkdtempSync(join(tmpdir(), "anis-runs-"));
    for (const name of ["2026a-default", "2026b-default", "2026c-quick"]) cpSync(await writeFixtureRun(fixture()), join(parent, name), { recursive: true });
    expect(resolveRunDirs([parent]).map((d) => basename(d))).toEqual(["2026a-default", "2026b-default", "2026c-quick"]);
    expect(resolveRunDirs([join(parent, "2026*-default")]).map((d) => basename(d))).toEqual(["2026a-default", "2026b-default"]);
    expect(() => resolveRunDirs([join(parent, "1999*")])).toThrow(/matches no run folder/);
  });
});
