import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { defineFamily, query, report, runBenchmark } from "./api.ts";
import { loadRunConfig } from "./runner/config.ts";

/** The programmatic API against the CLI: the same matrix gives the same digest and the same rows. */
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const anis = (...args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ["--import", "tsx", "benchmarks/cli/main.ts", ...args], { cwd: ROOT }, (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });

describe("the programmatic API", () => {
  it("runBenchmark and `anis run` give the same digest; report() is the CLI's report as an Arrow table, and --format arrow writes it", async () => {
    const out = mkdtempSync(join(tmpdir(), "anis-api-"));
    const config = { ...loadRunConfig("quick"), suites: ["workspace"], agents: ["single"], defenses: ["none", "l1"], models: ["sim:obedient"], sample: 6 };
    const file = join(out, "config.json");
    writeFileSync(file, JSON.stringify(config));
    const api = await runBenchmark({ config: "quick", overrides: { suites: ["workspace"], agents: ["single"], defenses: ["none", "l1"], models: ["sim:obedient"], sample: 6 }, out, runId: "api" });
    const cli = await anis("run", "--config", file, "--out", out, "--run-id", "cli");
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "cli", "manifest.json"), "utf8")).digest).toEqual(api.digest);

    const table = await report([api.dir], { by: ["suite"] });
    const json = JSON.parse((await anis("report", api.dir, "--by", "suite", "--format", "json")).stdout) as Record<string, unknown>[];
    expect(table.numRows).toBe(json.length);
    const rows = table.toArray().map((r) => r.toJSON());
    for (const [i, row] of json.entries()) {
      for (const key of ["defense", "model", "suite", "n_attack", "asr", "block_rate", "benign_utility", "autoimmunity"]) expect(rows[i]![key], key).toEqual(row[key]);
    }
    const arrowFile = join(out, "report.arrow");
    const written = await anis("report", api.dir, "--by", "suite", "--format", "arrow", "--out", arrowFile);
    expect(written.code, written.stderr).toBe(0);
    const read = tableFromIPC(readFileSync(arrowFile));
    expect(read.schema.fields.map((f) => f.name)).toEqual(table.schema.fields.map((f) => f.name));
    expect(read.toArray().map((r) => r.toJSON())).toEqual(rows);
    expect(String(read.schema.fields.find((f) => f.name === "defense")!.type)).toBe("Utf8");

    const episodes = await query([api.dir], "SELECT defense, count(*) AS n FROM episodes GROUP BY defense ORDER BY defense");
    expect(episodes.toArray().map((r) => r.toJSON())).toEqual([
      { defense: "l1", n: api.episodes / 2 },
      { defense: "none", n: api.episodes / 2 },
    ]);
  });

  it("defineFamily checks a family as a family file is checked", () => {
    const templates = ["A {instruction}.", "B {instruction}.", "C {instruction}.", "D {instruction}.", "E {instruction}."];
    expect(defineFamily({ id: "mine", version: "1", surface: "tool_output", mechanism: "m", goal_kinds: ["exfiltration"], templates, split: "far" }).split).toBe("far");
    expect(() => defineFamily({ id: "Mine", version: "1", surface: "email", mechanism: "m", goal_kinds: [], templates: ["x"] })).toThrow(/kebab-case[\s\S]*surface[\s\S]*templates/);
  });
});
