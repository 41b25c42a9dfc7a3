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
        // Real HTTP: the router in-process, mock upstreams on loopback, the official openai SDK as client.
        test: {
          name: "router",
          include: ["test/router/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
        },
      },
    ],
  },
});
