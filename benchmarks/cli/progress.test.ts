import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgress } from "./progress.ts";

/** A plain stream (not a terminal) that keeps what is written; a clock the test moves. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _, done) => (lines.push(String(chunk).trim()), done()) }) as unknown as NodeJS.WriteStream;
  return { lines, stream };
}

describe("progress", () => {
  it("guesses no time left before 5 s of this session's work, then counts only this session's episodes", () => {
    const { lines, stream } = capture();
    let clock = 0;
    const progress = createProgress("resume r", stream, "episodes", () => clock);
    // A resumed run: 500 of 1,000 episodes were done before; a slow first campaign carries the start-up.
    progress.update(500, 1000);
    clock = 16_000;
    progress.update(510, 1000);
    clock = 26_000;
    progress.update(610, 1000);
    expect(lines).toEqual(["resume r: 500/1000 episodes, 0.0/s, estimating time left", "resume r: 510/1000 episodes, 0.6/s, ~784s left", "resume r: 610/1000 episodes, 4.2/s, ~92s left"]);
  });
});
