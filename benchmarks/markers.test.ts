import { beforeAll, describe, expect, it } from "vitest";
import { AGENT_SYSTEMS } from "../agents/systems.ts";
import { HOOK_NAMES, allow, type Defense, type HookScope, quarantine } from "../defenses/types.ts";
import { loadCorpus } from "./corpus.ts";
import { getSuite, SUITES } from "./suites/registry.ts";
import { runBenignTask, runCase } from "./testing/episodes.ts";

/**
 * Nothing only an attack has. Every field a defense hook can read that is not free text — sources, trust labels,
 * principals, agents, zones, tool descriptors, the keys and ids of JSON content — is reduced to its shape, over the
 * whole corpus and every benign task on every agent system. A shape that occurs only in attack episodes is a marker:
 * a layer could block on it without reading a word of the attack, and would score there and nowhere else.
 */

/** Free text: its words are what defenses are meant to read. JSON in it is structure, and is walked. */
const FREE_TEXT = new Set(["content", "text", "description", "userPrompt", "reason", "evidence"]);
/** Fields from a closed vocabulary (sources, trust, agents, tool names): their value is the shape, digits aside. */
const NAMED = new Set(["source", "trust", "agent", "user", "from", "to", "direction", "kind", "zone", "name", "sensitivity", "provider", "protocol", "capability"]);

/** An open-ended identifier's scheme: letters, digits and the separators between them ("travel-policy" → "a-a+"). */
const schemeOf = (id: string) =>
  id
    .replace(/[A-Z]+/g, "A")
    .replace(/[a-z]+/g, "a")
    .replace(/[0-9]+/g, "9")
    .replace(/([^aA9][aA9])\1*/g, "$1+");

/**
 * The shapes of a value, as `path = shape`. Tool-call arguments are left out: they are what the attack makes the
 * agent do, which is what a defense is for judging. Inside JSON content, only keys and ids are shapes.
 */
function shapes(value: unknown, path: string, key: string, out: Set<string>): void {
  if (path.endsWith(".args")) return;
  const inJson = path.includes("<json>");
  if (inJson && (value === null || typeof value !== "object") && !/(^|_)id$/.test(key)) {
    out.add(`${path} : ${typeof value}`);
  } else if (typeof value === "string") {
    if (FREE_TEXT.has(key)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return;
      }
      if (parsed !== null && typeof parsed === "object") shapes(parsed, `${path}<json>`, "", out);
    } else if (!/\s/.test(value)) {
      out.add(`${path} = ${NAMED.has(key) && !inJson ? value.replace(/[0-9]+/g, "9") : schemeOf(value)}`);
    }
  } else if (typeof value === "number" || typeof value === "boolean") {
    out.add(`${path} = ${typeof value === "number" ? "number" : value}`);
  } else if (Array.isArray(value)) {
    for (const item of value) shapes(item, `${path}[]`, key, out);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) if (typeof v !== "function") shapes(v, `${path}.${k}`, k, out);
  }
}

/** Words that would say why something is there. No field a hook reads outside free text and arguments may carry one. */
const ORIGIN_WORDS = /payload|inject|plan|attack|plant|poison|malicious|evil|exploit|hijack|adversar|canary|victim/gi;

/**
 * The canary of every such field: each `path ∋ word` where an origin word occurs in a field's full value (letters
 * kept, not reduced to a shape). A layer blocking on one of these would be reading the bookkeeping, not the attack.
 */
function originWords(value: unknown, path: string, key: string, out: Set<string>): void {
  if (path.endsWith(".args")) return;
  if (typeof value === "string") {
    if (FREE_TEXT.has(key)) return;
    for (const m of value.matchAll(ORIGIN_WORDS)) out.add(`${path} ∋ ${m[0].toLowerCase()}`);
  } else if (Array.isArray(value)) {
    for (const item of value) originWords(item, `${path}[]`, key, out);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) if (typeof v !== "function") originWords(v, `${path}.${k}`, k, out);
  }
}

/** A layer that answers allow everywhere and records the shapes of what each hook receives. */
function recorder(sink: () => Set<string>): Defense {
  const hook = (name: string) => (subject: unknown, scope: HookScope) => {
    const scoped = { agent: scope.agent, user: scope.user, system: scope.system, tools: scope.tools };
    shapes(subject, name, "", sink());
    shapes(scoped, `${name}.scope`, "", sink());
    originWords(subject, name, "", sink());
    originWords(scoped, `${name}.scope`, "", sink());
    return allow;
  };
  return { id: "shape-recorder", layer: "L0", version: "1", description: "records field shapes", params: {}, hooks: Object.fromEntries(HOOK_NAMES.map((h) => [h, hook(h)])) };
}

/**
 * The five-line marker layer of the issue that asked for this test: it quarantines notes written by a principal
 * named `attacker` and retrieved pages with `planted-` ids. What it looks at must be there to look at.
 */
function markerOnly(seen: { memoryReads: number; pageIds: number }): Defense {
  return {
    id: "marker-only", layer: "L1", version: "1", description: "quarantines attack-only markers", params: {},
    hooks: {
      onContext: (entry) => {
        if (entry.kind === "memory_read") seen.memoryReads++;
        const ids = [...entry.content.matchAll(/"id":\s*"([^"]+)"/g)].map((m) => m[1]!);
        seen.pageIds += ids.length;
        return entry.provenance.source === "memory:attacker" || ids.some((id) => id.startsWith("planted-")) ? quarantine("marker", "an attack-only marker") : allow;
      },
    },
  };
}

describe("hook fields", () => {
  const attackShapes = new Map<string, string>();
  const benignShapes = new Set<string>();
  const markerSaw = { memoryReads: 0, pageIds: 0 };
  const byFamily = new Map<string, { cases: number; blocked: number }>();

  beforeAll(async () => {
    let sink = new Set<string>();
    const layers = [markerOnly(markerSaw), recorder(() => sink)];
    for (const attack of loadCorpus()) {
      sink = new Set();
      const outcome = await runCase(attack, layers);
      for (const shape of sink) if (!attackShapes.has(shape)) attackShapes.set(shape, attack.id);
      const family = byFamily.get(attack.family) ?? { cases: 0, blocked: 0 };
      byFamily.set(attack.family, { cases: family.cases + 1, blocked: family.blocked + (outcome.interventions > 0 && !outcome.attackSucceeded ? 1 : 0) });
    }
    for (const suite of SUITES.values()) {
      if (suite.name === "injecagent") continue;
      for (const task of getSuite(suite.name).tasks) {
        for (const agent of AGENT_SYSTEMS.keys()) {
          sink = new Set();
          await runBenignTask(suite.name, task.id, [recorder(() => sink)], { agent });
          for (const shape of sink) benignShapes.add(shape);
        }
      }
    }
  }, 600_000);

  it("have no shape that only attack episodes produce (each named with the first case that shows it)", () => {
    const attackOnly = [...attackShapes].filter(([shape]) => !benignShapes.has(shape)).map(([shape, id]) => `${shape}   (${id})`);
    expect(attackOnly).toEqual([]);
    // Not vacuous: sources, principals' notes and page ids were read on both sides.
    for (const expected of [/^onContext\.provenance\.source = memory:/, /^onContext\.content<json>\[\]\.id = /, /^onToolCall\.tool\.name = /]) {
      expect([...benignShapes].some((s) => expected.test(s)), String(expected)).toBe(true);
    }
  });

  it("carry no word of origin only attack episodes show, in their full values: a call's id least of all", () => {
    const canaries = [...attackShapes].filter(([shape]) => shape.includes(" ∋ ") && !benignShapes.has(shape)).map(([shape, id]) => `${shape}   (${id})`);
    expect(canaries).toEqual([]);
    expect([...attackShapes.keys(), ...benignShapes].filter((shape) => shape.startsWith("onToolCall.id ∋"))).toEqual([]);
    // Not vacuous: call ids were read, on both sides.
    for (const side of [[...attackShapes.keys()], [...benignShapes]]) expect(side).toContain("onToolCall.id = a_9+");
  });

  it("give a layer that reads only the old markers (memory:attacker, planted- ids) block rate 0.00 on every family", () => {
    expect(markerSaw.memoryReads).toBeGreaterThan(0);
    expect(markerSaw.pageIds).toBeGreaterThan(0);
    expect(byFamily.size).toBeGreaterThanOrEqual(10);
    for (const [family, { cases, blocked }] of byFamily) expect({ family, blockRate: blocked / cases }).toEqual({ family, blockRate: 0 });
  });
});
