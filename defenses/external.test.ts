import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDefenseService } from "../benchmarks/testing/defense-service.ts";
import { findCase, runAttackCase, runBenignTask } from "../benchmarks/testing/episodes.ts";
import { getSuite } from "../benchmarks/suites/registry.ts";
import { loadConfigurationLayers, loadDefenseConfiguration } from "./config.ts";
import { BREAKER_FAILURES, httpProtocolSchema, MAX_ANSWER_BYTES } from "./external.ts";
import { PROJECT_ROOT } from "./import-graph.ts";

/**
 * Layers from outside the repository: a module a researcher wrote, and a service in another process speaking the
 * HTTP protocol. Real files in a temporary folder, a real server on 127.0.0.1, real episodes.
 */
const outside = mkdtempSync(join(tmpdir(), "anis-external-"));
const configFile = (name: string, use: string, params: object = {}) => {
  const file = join(outside, `${name}.json`);
  writeFileSync(file, JSON.stringify({ name, description: "outside layer", layers: [{ use, params }] }));
  return file;
};
/** Writes 1 MiB chunks until the client stops reading: an answer with no end. */
async function floodInto(res: ServerResponse): Promise<void> {
  const chunk = Buffer.alloc(1024 * 1024, 32);
  res.writeHead(200, { "content-type": "application/json" });
  while (!res.destroyed && !res.writableEnded) {
    if (!res.write(chunk)) {
      // Wait for whichever comes first, and leave no listener behind for the next chunk.
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done).off("close", done);
          resolve();
        };
        res.once("drain", done).once("close", done);
      });
    }
  }
}

const hasPython = spawnSync("python3", ["--version"]).status === 0;
if (!hasPython) console.warn("no python3 here: the protocol doc's Python service is not run");

/** A port that was just free. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const load = async (file: string) => {
  await loadConfigurationLayers([file]);
  return loadDefenseConfiguration(file);
};

describe("module: layers", () => {
  it("a module's factory becomes a layer: it blocks what it is written to block, with its params and its code's hash", async () => {
    writeFileSync(
      join(outside, "no-delete.ts"),
      `export default (params: { tool: string }) => ({
        id: "no-delete", layer: "L1", version: "1.0.0", description: "refuses one tool", params,
        hooks: { onToolCall: (call: { tool: { name: string } }) => call.tool.name === params.tool ? { kind: "block", code: "no_delete", reason: "refused" } : { kind: "allow" } },
      });\n`,
    );
    const config = await load(configFile("no-delete", "module:./no-delete.ts", { tool: "delete_file" }));
    expect(config.spec).toEqual([{ use: "no-delete", layer: "L1", version: "1.0.0", params: { tool: "delete_file" }, source: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
    const attack = findCase((c) => c.suite === "workspace" && c.agent === "single" && c.goal.kind === "destruction" && c.campaign.length === 1, "a workspace deletion");
    const outcome = await runAttackCase(attack, config.layers);
    expect(outcome.attackSucceeded).toBe(false);
    expect(outcome.events.some((e) => e.kind === "intervention" && e.code === "no_delete")).toBe(true);
  });

  it("the guide's example layer runs where it is shipped: it is not refused as importing itself", async () => {
    const config = await load(configFile("in-place", `module:${join(PROJECT_ROOT, "benchmarks/cli/fixtures/outside/defenses/no-delete.ts")}`));
    expect(config.layers[0]).toMatchObject({ id: "no-delete", layer: "L1" });
  });

  it("a module that reaches the simulated model is refused, with the import named", async () => {
    writeFileSync(join(outside, "cheat.ts"), `import { SIM_PROFILES } from "${join(PROJECT_ROOT, "agents/models/sim/profiles.ts")}";\nexport default () => ({ id: "cheat", layer: "L2", version: "1", description: String(SIM_PROFILES), params: {}, hooks: {} });\n`);
    await expect(load(configFile("cheat", "module:./cheat.ts"))).rejects.toThrow(/cheat\.ts is refused: a defense sees only what a deployment sees, and it imports .*cheat\.ts → agents\/models\/sim\/profiles\.ts/);
  });

  it("a module whose factory returns no Defense is refused, each problem named", async () => {
    writeFileSync(join(outside, "wrong.ts"), `export default () => ({ id: "wrong", layer: "L9", hooks: { onToolcall: () => null } });\n`);
    await expect(load(configFile("wrong", "module:./wrong.ts"))).rejects.toThrow(/layer is not one of L0, .*; version is not a string; description is not a string; hooks\.onToolcall is not a hook/);
    await expect(load(configFile("missing", "module:./no-such-file.ts"))).rejects.toThrow(/module .*no-such-file\.ts does not exist/);
  });
});

/** An exfiltration whose user task asks to send nothing: what the reference service's rule is written for. */
const quietExfiltration = () =>
  findCase((c) => {
    const prompt = getSuite(c.suite).tasks.find((t) => t.id === c.campaign[0])?.prompt ?? "";
    return c.suite === "workspace" && c.agent === "single" && c.goal.kind === "exfiltration" && c.campaign.length === 1 && c.split === "seen" && !/\b(send|e-?mail|mail|pay|transfer|wire|share|post|tell|forward|reply)\b/i.test(prompt);
  }, "a workspace exfiltration from a task that sends nothing");

describe("http: layers, a service in another process", () => {
  let service: Awaited<ReturnType<typeof startDefenseService>>;
  let hanging: Awaited<ReturnType<typeof startDefenseService>>;
  beforeAll(async () => {
    [service, hanging] = await Promise.all([startDefenseService(), startDefenseService({ hang: true, timeoutMs: 200 })]);
  });
  afterAll(() => Promise.all([service.close(), hanging.close()]));

  it("describes itself, is called on the hooks it subscribes to, and blocks an attack; its latency counts as defense time", async () => {
    const config = await load(configFile("sink-guard", `http:${service.url}`));
    expect(config.layers[0]).toMatchObject({ id: "sink-guard", layer: "L1", version: "1.0.0" });
    expect(Object.keys(config.layers[0]!.hooks)).toEqual(["onToolCall"]);
    const outcome = await runAttackCase(quietExfiltration(), config.layers);
    expect(outcome.attackSucceeded).toBe(false);
    expect(outcome.events.some((e) => e.kind === "intervention" && e.code === "unrequested_sink")).toBe(true);
    expect(service.calls.every((c) => c.hook === "onToolCall")).toBe(true);
    expect(outcome.episodes[0]!.defense_us).toBeGreaterThan(0);
    // A benign task that asks to send is let through.
    expect((await runBenignTask("workspace", "share-draft-with-priya", config.layers)).utility).toBe(true);
  });

  it("a service that gives no answer is an episode error after its retries, never a block", async () => {
    const file = configFile("hangs", `http:${hanging.url}`);
    const config = await load(file);
    await expect(runAttackCase(quietExfiltration(), config.layers)).rejects.toThrow(
      /^episode error: defense sink-guard failed in onToolCall: defense service http:\/\/127\.0\.0\.1:\d+\/anis gave no answer within 200 ms \(retries included\)$/,
    );
  }, 240_000);

  it("a dead service is out after 5 failed calls in a row: later calls fail at once without reaching it, as errors", async () => {
    const dead = await startDefenseService({ hang: true, timeoutMs: 100 });
    try {
      const config = await load(configFile("dead", `http:${dead.url}`));
      for (let i = 0; i < BREAKER_FAILURES; i++) await expect(runAttackCase(quietExfiltration(), config.layers)).rejects.toThrow(/gave no answer within 100 ms/);
      expect(dead.calls).toHaveLength(BREAKER_FAILURES);
      for (let i = 0; i < 3; i++) {
        await expect(runAttackCase(quietExfiltration(), config.layers)).rejects.toThrow(
          /^episode error: defense sink-guard failed in onToolCall: defense service \S+ is out of service for this run: 5 calls in a row failed \(last: .*gave no answer within 100 ms/,
        );
      }
      expect(dead.calls).toHaveLength(BREAKER_FAILURES);
      // The next run (its layers loaded again) asks the service again: it may be back.
      const again = await load(configFile("dead", `http:${dead.url}`));
      await expect(runAttackCase(quietExfiltration(), again.layers)).rejects.toThrow(/gave no answer within 100 ms/);
      expect(dead.calls).toHaveLength(BREAKER_FAILURES + 1);
    } finally {
      await dead.close();
    }
  }, 240_000);

  it("a redirect is not followed, and an answer over the size cap is not read: both are errors, never blocks", async () => {
    const elsewhere = await startDefenseService();
    const redirecting = await startDefenseService({ respond: (res) => res.writeHead(307, { location: elsewhere.url }).end() });
    // A flood with no declared length, and one that declares it.
    const flooding = await startDefenseService({ respond: (res) => void floodInto(res) });
    const declaring = await startDefenseService({ respond: (res) => res.writeHead(200, { "content-length": String(MAX_ANSWER_BYTES + 1) }).end() });
    try {
      const redirected = await load(configFile("redirects", `http:${redirecting.url}`));
      await expect(runAttackCase(quietExfiltration(), redirected.layers)).rejects.toThrow(`answered a redirect (307 to ${elsewhere.url}); redirects are not followed`);
      expect(elsewhere.calls).toHaveLength(0);
      const flooded = await load(configFile("floods", `http:${flooding.url}`));
      await expect(runAttackCase(quietExfiltration(), flooded.layers)).rejects.toThrow(`answered more than the ${MAX_ANSWER_BYTES} bytes an answer may have`);
      const declared = await load(configFile("declares", `http:${declaring.url}`));
      await expect(runAttackCase(quietExfiltration(), declared.layers)).rejects.toThrow(`answered ${MAX_ANSWER_BYTES + 1} bytes, more than the ${MAX_ANSWER_BYTES} an answer may have`);
    } finally {
      await Promise.all([elsewhere, redirecting, flooding, declaring].map((s) => s.close()));
    }
  }, 240_000);

  it.skipIf(!hasPython)("the protocol's Python service, as the protocol doc prints it, on the port it is given, blocks an attack", async () => {
    const doc = readFileSync(join(PROJECT_ROOT, "defenses", "http-protocol.md"), "utf8");
    const file = join(outside, "service.py");
    writeFileSync(file, /## A service in Python[^\n]*\n\n```python\n([\s\S]*?)```/.exec(doc)![1]!);
    const port = await freePort();
    const python = spawn("python3", [file, String(port)], { stdio: "ignore" });
    try {
      const url = `http://127.0.0.1:${port}/anis`;
      for (let i = 0; i < 200 && !(await fetch(url).then((r) => r.ok, () => false)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const config = await load(configFile("sink-guard-py", `http:${url}`));
      expect(config.layers[0]).toMatchObject({ id: "sink-guard-py", layer: "L1" });
      const outcome = await runAttackCase(quietExfiltration(), config.layers);
      expect(outcome.attackSucceeded).toBe(false);
      expect(outcome.events.some((e) => e.kind === "intervention" && e.code === "unrequested_sink")).toBe(true);
    } finally {
      python.kill();
    }
  }, 240_000);

  it("a service that does not describe itself is named", async () => {
    // Nothing listens there.
    const port = await freePort();
    await expect(load(configFile("nobody", `http:http://127.0.0.1:${port}/anis`))).rejects.toThrow(new RegExp(`the defense service at http://127\\.0\\.0\\.1:${port}/anis does not describe itself`));
  });
});

describe("the HTTP protocol's schema", () => {
  it("the committed JSON Schema is the one the loader checks messages with (regenerate: httpProtocolSchema())", () => {
    expect(JSON.parse(readFileSync(join(PROJECT_ROOT, "defenses/http-protocol.schema.json"), "utf8"))).toEqual(httpProtocolSchema());
  });
});
