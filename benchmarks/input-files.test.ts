import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { validateFiles } from "./cli/validate.ts";
import { loadCorpus, loadExtraCases } from "./corpus.ts";
import { jsonFilesOf, MAX_INPUT_BYTES, readInputFile } from "./input-files.ts";

const OUTSIDE = fileURLToPath(new URL("./cli/fixtures/outside/", import.meta.url));

/** Folders and files from strangers: links that loop, pipes, devices, giants. Each is named, none hangs. */
describe("input files", () => {
  it("a folder whose links loop back is walked once, and its cases load", () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-loop-"));
    cpSync(join(OUTSIDE, "cases"), join(dir, "cases"), { recursive: true });
    // Each level links to the top and to itself: followed naively, the walk is exponential and never ends.
    for (const level of ["cases", "cases/deeper"]) {
      mkdirSync(join(dir, level), { recursive: true });
      symlinkSync(dir, join(dir, level, "top"));
      symlinkSync(join(dir, level), join(dir, level, "self"));
    }
    symlinkSync(join(dir, "nowhere"), join(dir, "cases", "dangling.json"));
    expect(jsonFilesOf(dir)).toEqual([join(dir, "cases", "tickets.json")]);
    const cases = loadExtraCases({ cases: [dir], families: [join(OUTSIDE, "families")] }, loadCorpus());
    expect(cases.length).toBeGreaterThan(0);
  });

  it("a FIFO, a device, a folder and a file over the cap are refused by name, before a byte is read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anis-odd-"));
    const big = join(dir, "big.json");
    writeFileSync(big, "");
    truncateSync(big, MAX_INPUT_BYTES + 1);
    expect(() => readInputFile(big)).toThrow(`${big}: ${MAX_INPUT_BYTES + 1} bytes, more than the ${MAX_INPUT_BYTES} an input file may have`);
    expect(() => readInputFile("/dev/zero")).toThrow("/dev/zero: a device, not a file: only JSON files are read");
    expect(() => readInputFile(dir)).toThrow(`${dir}: a folder; name the JSON files in it`);
    let fifo: string | null = join(dir, "cases", "pipe.json");
    mkdirSync(join(dir, "cases"));
    try {
      execFileSync("mkfifo", [fifo]);
    } catch {
      fifo = null;
      console.warn("no mkfifo here: the FIFO case is not checked");
    }
    if (fifo !== null) {
      expect(() => readInputFile(fifo!)).toThrow(`${fifo}: a FIFO, not a file`);
      expect(() => loadExtraCases({ cases: [join(dir, "cases")], families: [] }, [])).toThrow(`${fifo}: a FIFO, not a file`);
    }
    // validate takes a folder as the JSON files in it, and names what it cannot read; it never waits on a pipe.
    const { ok, problems } = await validateFiles(["/dev/zero", join(OUTSIDE, "cases"), mkdtempSync(join(tmpdir(), "anis-empty-"))], { tryOutside: false });
    expect(ok).toEqual([expect.stringContaining("cases/tickets.json: 5 attack case(s) ok")]);
    expect(problems).toEqual([expect.stringMatching(/anis-empty-\w+: a folder with no JSON files in it$/), expect.stringContaining("/dev/zero: a device")]);
  });
});
