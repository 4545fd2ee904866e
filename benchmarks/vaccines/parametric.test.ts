import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkModelName, resolveModel } from "../../agents/models/registry.ts";
import { findCase, runAttackCase } from "../testing/episodes.ts";

/** The parametric vaccine: a text vaccine applied inside the simulated model, to what it understands. */
const ARTIFACT = fileURLToPath(new URL("../../defenses/vaccines/artifacts/exact-signatures-seen.json", import.meta.url));
const VACCINATED = `sim:obedient+vaccine=${ARTIFACT}`;

describe("a vaccinated simulated model", () => {
  it("resists a payload it recognises, even base64-encoded, and still follows one it does not", async () => {
    const seenEncoded = findCase((c) => c.split === "seen" && c.agent === "single" && c.mutation_chain.join() === "base64" && c.campaign.length === 1, "a seen base64 case");
    expect((await runAttackCase(seenEncoded, [])).attackSucceeded).toBe(true);
    expect((await runAttackCase(seenEncoded, [], { model: VACCINATED })).attackSucceeded).toBe(false);
    const far = findCase((c) => c.split === "far" && c.agent === "single" && c.family === "capability-escalation", "a far case");
    expect((await runAttackCase(far, [], { model: VACCINATED })).attackSucceeded).toBe(true);
  });

  it("records its vaccine in the manifest's model parameters; a real endpoint is named as vaccinated", () => {
    expect(resolveModel(VACCINATED, { tasks: [], endpoint: {} }).params).toMatchObject({ profile: "obedient", vaccine: { vaccinator: "exact-signatures" } });
    expect(resolveModel("openai:my-ft+vaccine=ft-2026-11", { tasks: [], endpoint: { apiKey: "x" } }).params).toMatchObject({ model: "my-ft", vaccinated: "ft-2026-11" });
    expect(() => checkModelName("sim:obedient+vaccine=")).toThrow(/unknown model/);
  });
});
