import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["cli/**/*.test.ts", "operator/**/*.test.ts", "router/**/*.test.ts", "scripts/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One control plane / Prometheus per run: suites share it through globalSetup.
          fileParallelism: false,
        },
      },
    ],
  },
});
