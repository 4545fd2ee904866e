import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{agents,defenses,attacks,benchmarks,analysis}/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
