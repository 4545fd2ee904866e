import { describe, expect, it } from "vitest";
import { memoryQuarantine } from "../../defenses/builtins/memory-quarantine.ts";
import { loadDefenseConfiguration } from "../../defenses/config.ts";
import { loadCorpus } from "../corpus.ts";
import { getSuite } from "../suites/registry.ts";
import { findCase, runAttackCase, runCase } from "../testing/episodes.ts";

/** Long memory campaigns end to end: poisoning through content and through a query, with one memory store. */
describe("memory campaigns", () => {
  const poisoned = findCase((c) => c.family === "memory-poisoning" && /--campaign-6$/.test(c.id), "a long memory-poisoning campaign");
  const query = findCase((c) => c.family === "query-injection", "a query-only injection campaign");

  it("track the poisoned entry: planted once, retrieved by each retrieving task, acted on each time", async () => {
    const outcome = await runAttackCase(poisoned, []);
    expect(outcome.episodes.map((e) => e.attack_success)).toEqual([false, true, false, true, false, true]);
    expect(outcome.episodes.map((e) => e.poisoned_active)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(outcome.episodes[1]!.poisoned_retrievals).toBeGreaterThan(0);
  });

  it("a quarantined entry is kept but never retrieved, so no later episode acts on it", async () => {
    const outcome = await runAttackCase(poisoned, [memoryQuarantine()]);
    expect(outcome.attackSucceeded).toBe(false);
    expect(outcome.episodes.map((e) => [e.poisoned_active, e.poisoned_quarantined, e.poisoned_retrievals])).toEqual(Array(6).fill([0, 1, 0]));
  });

  it("query-only: the attacker's own request plants the rule; read in the victim's session it is another user's note", async () => {
    const outcome = await runAttackCase(query, []);
    expect(outcome.attackSucceeded).toBe(true);
    expect(outcome.episodes.map((e) => e.attacker_turn)).toEqual([true, false, false, false, false, false]);
    // The attacker is a member of the team: its note reads as a colleague's, like any other colleague's note.
    const attack = loadCorpus().find((c) => c.id === query)!;
    expect(getSuite(attack.suite).people.team).toContain(attack.principal);
    expect(outcome.events.filter((e) => e.kind === "memory_read").map((e) => e.source)).toContain(`memory:${attack.principal}`);
  });

  it("KNOWN LIMITATION: memory quarantine does not stop a query-only injection (the attacker wrote it in its own session, untainted)", async () => {
    expect((await runAttackCase(query, [memoryQuarantine()])).attackSucceeded).toBe(true);
  });

  it("information-flow control stops an exfiltration: the other user's note taints the victim's episode, and the sink asks", async () => {
    const exfiltration = findCase((c) => c.family === "query-injection" && c.goal.kind === "exfiltration", "a query-only exfiltration");
    expect((await runAttackCase(exfiltration, [])).attackSucceeded).toBe(true);
    expect((await runAttackCase(exfiltration, loadDefenseConfiguration("ifc").layers)).attackSucceeded).toBe(false);
  });
});

describe("what an episode's events keep", () => {
  it("a planted text of 6,000 characters is in its tool result whole, and a rewrite by a layer is kept beside the original", async () => {
    const id = findCase((c) => c.agent === "single" && c.campaign.length === 1 && c.surface === "tool_output" && c.split === "seen", "a single-agent injection in a tool result");
    const base = loadCorpus().find((c) => c.id === id)!;
    const long = { ...base, id: `${base.id}-long`, injection: { ...base.injection, text: `${base.injection.text} ${"Context for the record. ".repeat(260)}` } };
    const plain = await runCase(long, []);
    const result = plain.events.find((e) => e.kind === "tool_result" && e.detail?.includes("Context for the record."));
    expect(result!.detail!.length).toBeGreaterThan(6000);
    expect(result!.delivered).toBeNull();
    const marked = await runCase(long, loadDefenseConfiguration("l2").layers);
    const rewritten = marked.events.find((e) => e.kind === "tool_result" && e.delivered !== null);
    expect(rewritten!.detail).not.toBe(rewritten!.delivered);
    expect(rewritten!.delivered!.length).toBeGreaterThan(0);
  });
});
