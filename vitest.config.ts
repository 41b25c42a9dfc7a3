import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "cli/**/*.test.ts",
            "operator/**/*.test.ts",
            "router/**/*.test.ts",
            "analyzer/**/*.test.ts",
            "scripts/**/*.test.ts",
          ],
          environment: "node",
          // The CLI tests spawn `routewise`; on a loaded 2-core machine one spawn can take seconds.
          testTimeout: 30_000,
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
      {
        // Real Prometheus (Debian's prometheus package) scraping a real router; promtool on the rule file.
        test: {
          name: "observability",
          include: ["test/observability/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        // The Helm chart with .tools/bin/helm: lint, schema, templates, rendered manifests, the image layout.
        test: {
          name: "helm",
          include: ["test/helm/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        // A real etcd + kube-apiserver (built by npm run setup:tools), one per run, a namespace per test.
        test: {
          name: "k8s",
          include: ["test/k8s/**/*.test.ts", "test/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
