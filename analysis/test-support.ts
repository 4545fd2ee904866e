import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EpisodeRow } from "../benchmarks/runner/tables.ts";
import { finishJournal, JOURNAL_DIR, JournalWriter } from "../benchmarks/runner/journal.ts";
import type { RunManifest } from "./results.ts";

/** Test fixtures for the analysis: episode rows by hand, written as a run folder the way the runner writes one. */
export const row = (r: Partial<EpisodeRow> & Pick<EpisodeRow, "defense" | "user_task">): EpisodeRow => ({
  run_id: "fixture",
  episode_id: `${r.defense}-${r.attack_id ?? "benign"}-${r.user_task}-${r.campaign_pos ?? 0}`,
  campaign_id: `${r.defense}-${r.attack_id ?? r.user_task}`,
  campaign_pos: 0,
  campaign_len: 1,
  suite: "w",
  agent_system: "single",
  attacker_turn: false,
  hard_negative: false,
  attack_id: null,
  surface: null,
  family: null,
  goal: null,
  split: null,
  model: "m",
  seed: 1,
  utility: true,
  attack_success: null,
  interventions: 0,
  approvals: 0,
  approvals_denied: 0,
  stops: 0,
  first_layer: null,
  first_defense: null,
  first_stop_layer: null,
  first_stop_defense: null,
  // An intervention in a fixture is an alarm unless the fixture says it was a rewrite that kept the information.
  alarms: (r.interventions ?? 0) - (r.rewrites ?? 0),
  rewrites: 0,
  first_alarm_layer: (r.rewrites ?? 0) > 0 ? null : (r.first_layer ?? null),
  first_alarm_defense: (r.rewrites ?? 0) > 0 ? null : (r.first_defense ?? null),
  error: null,
  error_message: null,
  steps: 4,
  model_calls: 2,
  tool_calls: 2,
  duration_ms: 1,
  defense_us: 0,
  agents_total: 1,
  agents_exposed: 0,
  agents_infected: 0,
  spread_depth: null,
  secondary_infections: 0,
  containment_steps: null,
  poisoned_retrievals: 0,
  poisoned_active: 0,
  poisoned_quarantined: 0,
  input_tokens: 0,
  output_tokens: 0,
  cached_calls: 0,
  cost_usd: null,
  ...r,
});

/** Writes rows as a run folder (Parquet through the runner's own writer, and a manifest); returns its path. */
export async function writeFixtureRun(rows: readonly EpisodeRow[], manifest: Partial<RunManifest> = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "anis-fixture-"));
  const journal = new JournalWriter(join(dir, JOURNAL_DIR, "fixture.ndjson"));
  journal.append("fixture", { episodes: [...rows], events: [] });
  journal.close();
  await finishJournal(dir);
  const defenses = [...new Set(rows.map((r) => r.defense))].map((name) => ({ name, hash: `hash-of-${name}` }));
  const full: RunManifest = {
    run_id: rows[0]?.run_id ?? "fixture",
    created_at: "2026-01-01T00:00:00.000Z",
    status: "complete",
    git: { commit: "0000000", dirty: false },
    config: { name: "fixture" },
    config_hash: "fixture",
    defenses,
    models: [...new Set(rows.map((r) => r.model))].map((name) => ({ name })),
    corpus: { cases: 0, hash: "fixture-corpus" },
    seeds: [1],
    packages: {},
    ...manifest,
  };
  writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(full, null, 2)}\n`);
  return dir;
}
