import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{agents,defenses,attacks,benchmarks,analysis}/**/*.test.ts"],
    // Timeouts catch hangs, not slowness: the slowest test takes about 33 s on two idle cores, and a busy machine
    // can take several times that. Every per-test timeout is at least this.
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
