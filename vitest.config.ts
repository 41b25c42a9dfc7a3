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
            "test/harness/**/*.test.ts",
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
          // One file at a time, after unit/router/helm (group 0), before containers and cluster: vitest runs
          // single-worker projects left at groupOrder 0 after every numbered group, which put the cluster first.
          sequence: { groupOrder: 1 },
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
          sequence: { groupOrder: 1 },
        },
      },
      {
        // The locally built image (npm run image) run the way a Docker user runs it: testcontainers-node against
        // Podman's Docker-compatible API, started by the global setup on a private socket. Runs after the projects
        // above (groupOrder), before the cluster.
        test: {
          name: "containers",
          include: ["test/containers/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/containers/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        // A real single-node cluster (npm run cluster: etcd, apiserver, controller-manager, scheduler, containerd,
        // kubelet, kube-proxy) with the local image; the chart installed with Helm, pods really running. Last.
        test: {
          name: "cluster",
          include: ["test/cluster/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/cluster/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
