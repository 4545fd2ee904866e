import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gitState } from "./manifest.ts";

describe("the manifest's git state", () => {
  it("outputs the docs write into the repository leave it clean; a change to the code makes it dirty", () => {
    const repo = mkdtempSync(join(tmpdir(), "anis-git-"));
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: repo, stdio: "ignore" });
    mkdirSync(join(repo, "defenses"));
    writeFileSync(join(repo, "defenses", "layer.ts"), "export {};\n");
    git("init", "-q");
    git("add", ".");
    git("commit", "-qm", "code");
    expect(gitState(repo)).toMatchObject({ commit: expect.stringMatching(/^[0-9a-f]{40}$/), dirty: false });
    mkdirSync(join(repo, "leaderboard"));
    writeFileSync(join(repo, "leaderboard", "index.html"), "<html></html>");
    writeFileSync(join(repo, "report.arrow"), "");
    expect(gitState(repo).dirty).toBe(false);
    writeFileSync(join(repo, "defenses", "layer.ts"), "export const changed = 1;\n");
    expect(gitState(repo).dirty).toBe(true);
    expect(gitState(mkdtempSync(join(tmpdir(), "anis-no-git-")))).toEqual({ commit: null, dirty: null });
  });

  it("without a checkout (a container image), the commit the image was built with; a value that is no commit is not recorded", () => {
    const saved = process.env.ANIS_COMMIT;
    try {
      process.env.ANIS_COMMIT = "8d91dcaa7b1e0f3c2d4e5f60718293a4b5c6d7e8";
      expect(gitState(mkdtempSync(join(tmpdir(), "anis-image-")))).toEqual({ commit: "8d91dcaa7b1e0f3c2d4e5f60718293a4b5c6d7e8", dirty: null });
      process.env.ANIS_COMMIT = "unknown";
      expect(gitState(mkdtempSync(join(tmpdir(), "anis-image-"))).commit).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.ANIS_COMMIT;
      else process.env.ANIS_COMMIT = saved;
    }
  });
});
