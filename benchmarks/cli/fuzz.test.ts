import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { computeReport } from "../../analysis/report.ts";
import { openResults } from "../../analysis/results.ts";
import { loadRunConfig } from "../runner/config.ts";
import { reopenJournal } from "../runner/journal.ts";
import { executeRun, resumeRun } from "../runner/run.ts";
import { validateFiles } from "./validate.ts";

/**
 * A few hundred randomly corrupted copies of real files — truncated, bytes flipped, fields removed, `..` and glob
 * characters in names — fed to what `validate`, `report` and `run --resume` do. Each either succeeds or fails with
 * a bad-input error (the CLI's exit 2, one message), never another error (exit 1, a stack trace); nothing is
 * written outside the run folder, and no file outside it changes. Seeded: the same copies every run.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = ["..", "../../x", "*", "r?", "[a]", "", "/etc/passwd", "a/../../b", "x".repeat(5000)];

/** One corruption of a file's bytes, chosen by the generator. */
function corrupt(bytes: Buffer, next: () => number): Buffer {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const kind = Math.floor(next() * 4);
  if (kind === 0) return bytes.subarray(0, Math.floor(next() * bytes.length));
  if (kind === 1) {
    const copy = Buffer.from(bytes);
    for (let i = 0; i < 1 + Math.floor(next() * 8); i++) copy[Math.floor(next() * copy.length)] = Math.floor(next() * 256);
    return copy;
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    return bytes.subarray(0, Math.floor(next() * bytes.length));
  }
  // Remove a field, or set one to a hostile name, somewhere in the document.
  const objects: Record<string, unknown>[] = [];
  const walk = (v: unknown) => {
    if (v && typeof v === "object") {
      if (!Array.isArray(v)) objects.push(v as Record<string, unknown>);
      for (const child of Object.values(v)) walk(child);
    }
  };
  walk(json);
  const target = objects.length > 0 ? pick(objects) : null;
  const key = target ? pick(Object.keys(target).length > 0 ? Object.keys(target) : ["id"]) : null;
  if (target && key) {
    if (kind === 2) delete target[key];
    else target[key] = pick(HOSTILE);
  }
  return Buffer.from(JSON.stringify(json));
}

function snapshot(dir: string, skip: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const path = join(dir, name);
    if (path.startsWith(skip) || !statSync(path).isFile()) continue;
    files.set(name, createHash("sha256").update(readFileSync(path)).digest("hex"));
  }
  return files;
}

/** The outcome the CLI would turn into an exit code: 0 for success, 2 for a bad-input error; anything else is a defect. */
async function outcome(action: () => Promise<unknown> | unknown): Promise<0 | 2 | string> {
  try {
    await action();
    return 0;
  } catch (error) {
    return (error as { code?: unknown })?.code === "bad_input" ? 2 : `${(error as Error).stack}`;
  }
}

let root: string;
let run: string;
const config = { ...loadRunConfig("quick"), suites: ["workspace"], agents: ["single"], defenses: ["none"], models: ["sim:obedient"], sample: 2, benign: false };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "anis-fuzz-"));
  run = (await executeRun({ config, out: join(root, "results"), runId: "good", endpoint: {} })).dir;
}, 240_000);

describe("randomly corrupted copies of real files", () => {
  it("validate: 200 corrupted attack files, families, defense and run configurations name their problems or pass", async () => {
    const next = random(1);
    const sources = ["attacks/cases/workspace/tool-output.json", "attacks/families/context-ignoring.json", "defenses/configs/tower.json", "benchmarks/configs/quick.json"].map((f) => readFileSync(join(ROOT, f)));
    const dir = mkdtempSync(join(root, "validate-"));
    for (let i = 0; i < 200; i++) {
      const file = join(dir, `${i}.json`);
      writeFileSync(file, corrupt(sources[i % sources.length]!, next));
      const result = await outcome(async () => {
        const { problems } = await validateFiles([file]);
        for (const p of problems) expect(p).toContain(file);
      });
      expect(result, `copy ${i}`).toBe(0);
    }
  });

  it("report: 80 run folders with a corrupted manifest or result file are read or refused by name", async () => {
    const next = random(2);
    const outside = snapshot(root, join(root, "report-"));
    for (let i = 0; i < 80; i++) {
      const dir = join(root, `report-${i}`);
      cpSync(run, dir, { recursive: true });
      const file = ["manifest.json", "episodes.parquet", "events.parquet"][i % 3]!;
      writeFileSync(join(dir, file), corrupt(readFileSync(join(dir, file)), next));
      const result = await outcome(async () => {
        const db = await openResults([dir]);
        try {
          await computeReport(db);
        } finally {
          db.close();
        }
      });
      expect([0, 2], `copy ${i} (${file}): ${result}`).toContain(result);
      rmSync(dir, { recursive: true });
    }
    expect(snapshot(root, join(root, "report-"))).toEqual(outside);
  });

  it("run --resume: 30 killed runs with a corrupted manifest or journal resume or are refused by name, and write only in their folder", async () => {
    const next = random(3);
    for (let i = 0; i < 30; i++) {
      const dir = join(root, "resume", `r${i}`);
      mkdirSync(join(root, "resume"), { recursive: true });
      cpSync(run, dir, { recursive: true });
      // A run killed after every campaign was journaled: the journal holds the results, the Parquet files are not yet made.
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      writeFileSync(join(dir, "manifest.json"), JSON.stringify({ ...manifest, status: "running" }));
      await reopenJournal(dir);
      for (const f of ["episodes.parquet", "events.parquet"]) rmSync(join(dir, f));
      const file = i % 2 === 0 ? join(dir, "manifest.json") : join(dir, "journal", "reopened.ndjson");
      writeFileSync(file, corrupt(readFileSync(file), next));
      const outside = snapshot(root, dir);
      const result = await outcome(() => resumeRun({ dir, endpoint: {}, workers: 1 }));
      expect([0, 2], `copy ${i} (${file}): ${result}`).toContain(result);
      expect(snapshot(root, dir)).toEqual(outside);
      rmSync(dir, { recursive: true });
    }
  }, 240_000);
});
