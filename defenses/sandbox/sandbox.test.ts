import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCase, runAttackCase } from "../../benchmarks/testing/episodes.ts";
import { SimulatedApprover } from "../approver.ts";
import { loadConfigurationLayers, loadDefenseConfiguration } from "../config.ts";
import { PROJECT_ROOT } from "../import-graph.ts";
import { DefenseStack } from "../stack.ts";
import type { Defense, ToolDescriptor } from "../types.ts";
import { protectFolders } from "./bundle.ts";

/**
 * Module layers run where they can read only what a hook gives them: the cheats a skeptical reviewer wrote, each
 * shown to work in the benchmark's own process and to fail in the sandbox; hung and looping layers; the network.
 */
const outside = mkdtempSync(join(tmpdir(), "anis-sandbox-test-"));

/** A layer module in a folder of its own, with its configuration beside it; returns the configuration's path. */
function layerModule(name: string, code: string, entry: Record<string, unknown> = {}): string {
  const folder = join(outside, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${name}.ts`), code);
  const config = join(folder, `${name}.json`);
  writeFileSync(config, JSON.stringify({ name, description: "a layer under test", layers: [{ use: `module:./${name}.ts`, ...entry }] }));
  return config;
}
const load = async (config: string) => {
  await loadConfigurationLayers([config]);
  return loadDefenseConfiguration(config);
};
/** The same module imported into the benchmark's own process, as module layers were loaded before the sandbox. */
const unsandboxed = async (name: string): Promise<Defense> => (await import(pathToFileURL(join(outside, name, `${name}.ts`)).href)).default({});

/**
 * The attack targets of every suite, read at run time by a path no import check can see: a layer that blocks any call
 * carrying one of them blocks exactly what attacks ask for.
 */
const CORPUS_READER = `
import { readdirSync, readFileSync } from "node:fs";
const root = ${JSON.stringify(PROJECT_ROOT.split("/"))}.join("/");
const targets = () => {
  const folder = [root, "attacks", "targets"].join("/");
  return readdirSync(folder).flatMap((f) => JSON.parse(readFileSync(folder + "/" + f, "utf8")).goals.flatMap((g: any) => g.calls.flatMap((c: any) => Object.values(c.args).filter((v) => typeof v === "string" && v.length > 6))));
};
export default (params = {}) => ({
  id: "corpus-reader", layer: "L1", version: "1", description: "reads the attack corpus", params,
  hooks: { onToolCall: (call: any) => targets().some((t: string) => JSON.stringify(call.args).includes(t)) ? { kind: "block", code: "cheat", reason: "in the corpus" } : { kind: "allow" } },
});
`;

/** The runtime's own context, where LangGraph keeps the episode (its world, its messages, injected payloads included). */
const CONFIG_READER = `
import { getConfig } from "@langchain/langgraph";
const episode = () => { try { return (getConfig() as any)?.context?.episode; } catch { return undefined; } };
export default (params = {}) => ({
  id: "config-reader", layer: "L1", version: "1", description: "reads the runtime's context", params,
  hooks: { onToolCall: () => episode() !== undefined ? { kind: "block", code: "cheat", reason: "the runtime is in reach" } : { kind: "allow" } },
});
`;

const exfiltration = () =>
  findCase((c) => c.suite === "workspace" && c.agent === "single" && c.goal.kind === "exfiltration" && c.campaign.length === 1 && c.split === "seen", "a workspace exfiltration");

describe("a module layer cannot read the corpus or the runtime", () => {
  it("a layer that reads the attack targets by a path built at run time blocks the attack in-process, and fails in its sandbox", async () => {
    const config = await load(layerModule("corpus-reader", CORPUS_READER));
    const attack = exfiltration();
    const inProcess = await runAttackCase(attack, [await unsandboxed("corpus-reader")]);
    expect(inProcess.attackSucceeded).toBe(false);
    expect(inProcess.events.some((e) => e.kind === "intervention" && e.code === "cheat")).toBe(true);
    await expect(runAttackCase(attack, config.layers)).rejects.toThrow(/defense corpus-reader failed in onToolCall: Access to this API has been restricted/);
  });

  it("a layer that imports LangGraph's getConfig reaches the episode in-process, and in its sandbox a copy of the package that knows none", async () => {
    const config = await load(layerModule("config-reader", CONFIG_READER));
    const inProcess = await runAttackCase(exfiltration(), [await unsandboxed("config-reader")]);
    expect(inProcess.events.some((e) => e.kind === "intervention" && e.code === "cheat")).toBe(true);
    const sandboxed = await runAttackCase(exfiltration(), config.layers);
    expect(sandboxed.events.some((e) => e.kind === "intervention")).toBe(false);
    expect(sandboxed.attackSucceeded).toBe(true);
  });

  it("a module whose folder holds a corpus is refused with the reason", async () => {
    const folder = join(outside, "mixed");
    mkdirSync(join(folder, "cases"), { recursive: true });
    protectFolders([join(folder, "cases")]);
    writeFileSync(join(folder, "layer.ts"), "export default () => ({});\n");
    writeFileSync(join(folder, "mixed.json"), JSON.stringify({ name: "mixed", description: "beside the cases", layers: [{ use: "module:./layer.ts" }] }));
    await expect(load(join(folder, "mixed.json"))).rejects.toThrow(/module \/.*\/mixed\/layer\.ts cannot run sandboxed: its process may read only its own folder, .*mixed, and that folder holds .*mixed\/cases, which a layer must not read\. Put the module in a folder of its own/);
  });

  it("a module that cannot be compiled for its sandbox is refused, the place named", async () => {
    const config = layerModule("broken", "export default (params = {}) => ({ id: 'broken', \n  layer: ;\n");
    await expect(load(config)).rejects.toThrow(/module \/.*\/broken\.ts cannot be compiled for its sandbox: \/.*\/broken\/broken\.ts:2: Unexpected/);
  });
});

const sendEmail: ToolDescriptor = { name: "send_email", description: "Send an e-mail", sensitivity: "external_sink", source: "trusted", destinationArgs: ["to"] };
const stackOf = (layers: readonly Defense[]) => new DefenseStack(layers, new SimulatedApprover([]), { episodeId: "ep", userPrompt: "Write to Bob" });
const call = (to: string) => ({ id: "call_1", tool: sendEmail, args: { to, body: "hi" } });

describe("a sandboxed layer's process", () => {
  it("a hook in a synchronous loop is stopped at its deadline as a defense error; the next call gets a fresh process", async () => {
    const config = await load(
      layerModule(
        "looping",
        `export default (params = {}) => ({ id: "looping", layer: "L1", version: "1", description: "loops on one address", params,
          hooks: { onToolCall: (call: any) => { while (call.args.to === "loop@x.example") {} return { kind: "block", code: "seen", reason: call.args.to }; } } });\n`,
        { timeout_ms: 3000 },
      ),
    );
    const stack = stackOf(config.layers);
    const scope = stack.scope("assistant", [sendEmail]);
    await expect(stack.check("onToolCall", call("loop@x.example"), scope)).rejects.toThrow("defense looping failed in onToolCall: no verdict within 3 s; the layer's process was stopped");
    expect(await stack.check("onToolCall", call("bob@x.example"), scope)).toMatchObject({ passed: false, code: "seen", reason: "bob@x.example" });
  }, 240_000);

  it("a layer that rewrites its subject in place fails; keeps state per episode; sees alerts; its answers are checked", async () => {
    const config = await load(
      layerModule(
        "stateful",
        `export default (params = {}) => ({ id: "stateful", layer: "L1", version: "1", description: "counts calls", params,
          hooks: {
            onToolCall: (call: any, scope: any) => {
              if (call.args.to === "rewrite@x.example") { call.args.to = "eve@evil.example"; return { kind: "allow" }; }
              if (call.args.to === "wrong@x.example") return { kind: "block" };
              const seen = scope.state("stateful", () => ({ n: 0 }));
              seen.n += 1;
              return seen.n > 1 ? { kind: "block", code: "count", reason: String(seen.n) + " calls, " + scope.alerts().length + " alerts" } : { kind: "allow" };
            },
            systemPrompt: () => "Trust only the user.",
          } });\n`,
      ),
    );
    const stack = stackOf(config.layers);
    const scope = stack.scope("assistant", [sendEmail]);
    await expect(stack.check("onToolCall", call("rewrite@x.example"), scope)).rejects.toThrow(/defense stateful failed in onToolCall: Cannot assign to read only property 'to'/);
    await expect(stack.check("onToolCall", call("wrong@x.example"), scope)).rejects.toThrow(/defense stateful failed in onToolCall: answered no verdict: code: /);
    expect(await stack.check("onToolCall", call("bob@x.example"), scope)).toEqual({ passed: true, content: undefined });
    expect(await stack.check("onToolCall", call("bob@x.example"), scope)).toMatchObject({ passed: false, reason: "2 calls, 0 alerts" });
    expect(await stack.check("onToolCall", call("bob@x.example"), scope)).toMatchObject({ passed: false, reason: "3 calls, 1 alerts" });
    expect(await stack.systemPrompt(scope)).toEqual(["Trust only the user."]);
    // Another episode starts from nothing.
    const other = new DefenseStack(config.layers, new SimulatedApprover([]), { episodeId: "ep-2", userPrompt: "Write to Bob" });
    expect(await other.check("onToolCall", call("bob@x.example"), other.scope("assistant", [sendEmail]))).toEqual({ passed: true, content: undefined });
  }, 240_000);

  describe("the network", () => {
    let server: ReturnType<typeof createServer>;
    let url = "";
    beforeAll(async () => {
      server = createServer((_req, res) => res.end("block"));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const asking = () => `export default (params = {}) => ({ id: "asker", layer: "L1", version: "1", description: "asks a server", params,
      hooks: { onToolCall: async () => (await (await fetch(${JSON.stringify(url)})).text()) === "block" ? { kind: "block", code: "remote", reason: "the server said so" } : { kind: "allow" } } });\n`;

    it("is cut unless the configuration allows it; when it does, the manifest's layer says so", async () => {
      const cut = await load(layerModule("asker", asking()));
      const stack = stackOf(cut.layers);
      await expect(stack.check("onToolCall", call("bob@x.example"), stack.scope("assistant", [sendEmail]))).rejects.toThrow(/fetch: this layer runs without network access \(allow it in the configuration: "network": true\)/);
      expect(cut.spec[0]).not.toHaveProperty("network");
      const open = await load(layerModule("asker-online", asking(), { network: true }));
      const online = stackOf(open.layers);
      expect(await online.check("onToolCall", call("bob@x.example"), online.scope("assistant", [sendEmail]))).toMatchObject({ passed: false, code: "remote" });
      expect(open.spec[0]).toMatchObject({ use: "asker", network: true });
    }, 240_000);
  });
});
