import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type {
  KubernetesObject,
  V1ClusterRole,
  V1ConfigMap,
  V1Container,
  V1CustomResourceDefinition,
  V1Deployment,
  V1NetworkPolicy,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { validateGateway } from "../../operator/api/v1alpha1/validate.js";
import { DEFAULT_CONTROLLER_NAME, DEFAULT_LEASE_NAME } from "../../operator/main.js";
import {
  CONFIGMAP_NAME,
  CREDENTIALS_SECRET_NAME,
  DEFAULT_GATEWAY_NAME,
  configMapName,
  credentialsSecretName,
} from "../../router/config/delivery.js";
import { parseObjects } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { ALL_FEATURES, CHART_DIR, CUSTOM_CLASSIFIER_VOLUME, NAMESPACE, find, helm, kinds, render } from "./helm.js";

const OPTIONAL_KINDS = ["ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ModelProvider", "ModelRoute"];

/** The fields of a rendered ModelGateway these tests read. */
interface Gateway extends KubernetesObject {
  spec: { controllerName: string; allowedRoutes: unknown; modelNames?: unknown; teamBudgets?: unknown };
}

function container(d: V1Deployment): V1Container {
  const c = d.spec?.template.spec?.containers[0];
  if (c === undefined) throw new Error(`${d.metadata?.name ?? "?"} has no container`);
  return c;
}

/** The fields of a monitoring.coreos.com/v1 ServiceMonitor these tests read. */
interface ServiceMonitor extends KubernetesObject {
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: unknown[] };
}

/** Rules as comparable data (the typed objects hold undefined fields the YAML does not). */
function plainRules(rules: readonly V1PolicyRule[] | undefined): unknown {
  return JSON.parse(JSON.stringify(rules ?? [])) as unknown;
}

describe("helm lint", () => {
  it("passes --strict with the default values", async () => {
    const result = await helm(["lint", "--strict", CHART_DIR]);
    expect(result.stderr + result.stdout).toContain("0 chart(s) failed");
    expect(result.code).toBe(0);
  });

  it("passes --strict with every optional feature on", async () => {
    const result = await helm(["lint", "--strict", CHART_DIR, ...ALL_FEATURES.flatMap((s) => ["--set", s])]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});

describe("values.schema.json", () => {
  const reject = async (sets: string[]): Promise<string> => {
    const message = await render(sets).then(
      () => null,
      (e: unknown) => String(e),
    );
    expect(message, `helm accepted ${sets.join(" ")}`).not.toBeNull();
    return message ?? "";
  };

  it("rejects an operator.prometheusURL that is not an http(s) URL, and a qualityInterval that is not a duration", async () => {
    expect(await reject(["operator.prometheusURL=prometheus:9090"])).toMatch(/prometheusURL/);
    expect(await reject(["operator.qualityInterval=1 minute"])).toMatch(/qualityInterval/);
  });

  it("rejects an unknown top-level key", async () => {
    expect(await reject(["replicaCount=2"])).toMatch(/additional properties 'replicaCount' not allowed/);
  });

  it("rejects an unknown nested key (a typo of serviceMonitor.enabled)", async () => {
    expect(await reject(["serviceMonitor.enable=true"])).toMatch(/additional properties 'enable' not allowed/);
  });

  it("rejects a value of the wrong type", async () => {
    expect(await reject(["router.port=http"])).toMatch(/router\/port.*want integer/);
  });

  it("rejects a state.failurePolicy other than open or closed, and a Redis URL of another scheme", async () => {
    expect(await reject(["state.failurePolicy=ignore"])).toMatch(/failurePolicy/);
    expect(await reject(["state.redis.url=http://redis:6379"])).toMatch(/url/);
  });

  it("rejects a value outside its enum", async () => {
    expect(await reject(["image.pullPolicy=Sometimes"])).toMatch(/pullPolicy/);
  });

  it("rejects an extra volume with a misspelt volume source", async () => {
    expect(
      await reject(["router.extraVolumes[0].name=model", "router.extraVolumes[0].persistentVolumeclaim.claimName=m"]),
    ).toMatch(/additional properties 'persistentVolumeclaim' not allowed/);
  });

  it("rejects an extra volume mount without a mountPath", async () => {
    expect(await reject(["router.extraVolumeMounts[0].name=model"])).toMatch(/mountPath/);
  });

  it("rejects a namespace listed twice in operator.watchNamespaces", async () => {
    expect(await reject(["operator.watchNamespaces={team-a,team-a}"])).toMatch(
      /watchNamespaces.*items at 0 and 1 are equal/,
    );
  });

  it("rejects a router metrics port equal to its API port", async () => {
    expect(await reject(["router.metricsPort=8080"])).toMatch(/router.metricsPort must differ from router.port/);
  });

  it("rejects operator.watchNamespaces without the release namespace (where the operator finds its gateway)", async () => {
    expect(await reject(["operator.watchNamespaces={team-a}"])).toMatch(
      /operator.watchNamespaces must include the release namespace routewise-system/,
    );
  });

  it("rejects a gateway allowedRoutes.namespaces.from outside Same, All and Selector", async () => {
    expect(await reject(["gateway.allowedRoutes.namespaces.from=Any"])).toMatch(/from.*must be one of/);
  });

  it("rejects gateway allowedRoutes from Selector without a selector", async () => {
    expect(await reject(["gateway.allowedRoutes.namespaces.from=Selector"])).toMatch(
      /gateway.allowedRoutes.namespaces.selector is required when from is Selector/,
    );
  });

  it("rejects a gateway name that is not a Kubernetes object name", async () => {
    expect(await reject(["gateway.name=Team_A"])).toMatch(/gateway\/name.*does not match pattern/);
  });

  it("rejects an operator.controllerName that is not a domain-prefixed path", async () => {
    expect(await reject(["operator.controllerName=routewise"])).toMatch(/controllerName.*does not match pattern/);
  });

  it("rejects the removed crds.enabled/crds.keep (the CRDs are in crds/: helm install --skip-crds skips them)", async () => {
    expect(await reject(["crds.enabled=false"])).toMatch(/additional properties 'crds' not allowed/);
  });

  it("rejects two operator replicas without leader election", async () => {
    expect(await reject(["operator.replicas=2", "operator.leaderElection.enabled=false"])).toMatch(
      /needs operator.leaderElection.enabled=true/,
    );
  });

  it("closes every object it describes (additionalProperties: false)", () => {
    const schema: unknown = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8"));
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== "object" || node === null) return;
      const n = node as Record<string, unknown>;
      if (n["properties"] !== undefined && n["additionalProperties"] !== false) open.push(path);
      for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`);
    };
    walk(schema, "");
    expect(open).toEqual([]);
  });
});

describe("values.yaml", () => {
  const text = readFileSync(join(CHART_DIR, "values.yaml"), "utf8");
  const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as SchemaNode;
  interface SchemaNode {
    properties?: Record<string, SchemaNode>;
    $ref?: string;
  }

  /** Paths of the chart's own values: schema properties, not descending into Kubernetes types ($ref). */
  const valuePaths = (node: SchemaNode, prefix: string[] = []): string[][] =>
    Object.entries(node.properties ?? {}).flatMap(([k, v]) => [
      [...prefix, k],
      ...(v.$ref === undefined ? valuePaths(v, [...prefix, k]) : []),
    ]);

  it("describes every value with a comment on the line above it", () => {
    const lines = text.split("\n");
    const undocumented: string[] = [];
    for (const path of valuePaths(schema)) {
      // Find the key line at the right indentation after its parent's line.
      let from = 0;
      let index = -1;
      path.forEach((key, depth) => {
        index = lines.findIndex((l, i) => i >= from && l.startsWith(`${"  ".repeat(depth)}${key}:`));
        from = index + 1;
      });
      const above = index > 0 ? (lines[index - 1] ?? "") : "";
      if (index < 0 || !above.trim().startsWith("#")) undocumented.push(path.join("."));
    }
    expect(undocumented).toEqual([]);
  });

  it("sets every value the schema describes, and nothing else", () => {
    const values = parseYaml(text) as Record<string, unknown>;
    const missing = valuePaths(schema).filter((path) => {
      let node: unknown = values;
      for (const key of path) {
        if (typeof node !== "object" || node === null || !(key in node)) return true;
        node = (node as Record<string, unknown>)[key];
      }
      return false;
    });
    expect(missing).toEqual([]);
  });
});

describe("optional features", () => {
  it("renders none of the optional objects by default", async () => {
    const objects = await render();
    expect(kinds(objects).filter((k) => OPTIONAL_KINDS.includes(k))).toEqual([]);
    expect(objects.filter((o) => o.kind === "ConfigMap")).toEqual([]);
  });

  it("renders one ServiceMonitor per component when serviceMonitor.enabled", async () => {
    const objects = await render(["serviceMonitor.enabled=true"]);
    const monitors = objects.filter((o) => o.kind === "ServiceMonitor").map((o) => o.metadata?.name);
    expect(monitors.sort()).toEqual(["routewise-operator", "routewise-router"]);
    find(objects, "Service", "routewise-operator-metrics");
  });

  it("scrapes each component's named metrics port through its metrics Service, never the router's API Service", async () => {
    const objects = await render(["serviceMonitor.enabled=true"]);
    const services = objects.filter((o): o is V1Service => o.kind === "Service");
    for (const component of ["operator", "router"]) {
      const monitor = find<ServiceMonitor>(objects, "ServiceMonitor", `routewise-${component}`);
      expect(monitor.spec.endpoints, component).toEqual([
        { port: "metrics", path: "/metrics", interval: "30s", scrapeTimeout: "10s" },
      ]);
      const selected = services.filter((svc) =>
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => svc.metadata?.labels?.[k] === v),
      );
      expect(
        selected.map((svc) => svc.metadata?.name),
        component,
      ).toEqual([`routewise-${component}-metrics`]);
      expect(selected[0]?.spec?.ports, component).toEqual([
        { name: "metrics", port: component === "router" ? 9464 : 8081, targetPort: "metrics", protocol: "TCP" },
      ]);
      expect(selected[0]?.spec?.selector, component).toEqual(
        find<V1Deployment>(objects, "Deployment", `routewise-${component}`).spec?.selector.matchLabels,
      );
    }
  });

  it("renders the PrometheusRule from rules/routewise-rules.yaml when prometheusRule.enabled", async () => {
    const objects = await render(["prometheusRule.enabled=true"]);
    const rule = find<KubernetesObject & { spec: { groups: unknown } }>(objects, "PrometheusRule");
    const file = parseYaml(readFileSync(join(CHART_DIR, "rules", "routewise-rules.yaml"), "utf8")) as {
      groups: unknown;
    };
    expect(rule.spec.groups).toEqual(file.groups);
  });

  it("renders the dashboard ConfigMap labelled for the Grafana sidecar when grafanaDashboard.enabled", async () => {
    const objects = await render(["grafanaDashboard.enabled=true"]);
    const cm = find<V1ConfigMap>(objects, "ConfigMap");
    expect(cm.metadata?.labels?.["grafana_dashboard"]).toBe("1");
    const json = readFileSync(join(CHART_DIR, "dashboards", "routewise.json"), "utf8");
    expect(JSON.parse(cm.data?.["routewise.json"] ?? "")).toEqual(JSON.parse(json));
  });

  it("renders NetworkPolicies for both components when networkPolicy.enabled", async () => {
    const objects = await render(["networkPolicy.enabled=true"]);
    expect(objects.filter((o) => o.kind === "NetworkPolicy").map((o) => o.metadata?.name)).toEqual([
      "routewise-router",
      "routewise-operator",
    ]);
  });

  it("lets routerFrom reach the router's API port and metricsFrom its metrics port", async () => {
    const objects = await render([
      "networkPolicy.enabled=true",
      "networkPolicy.routerFrom[0].podSelector.matchLabels.role=client",
      "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.role=monitoring",
    ]);
    const policy = find<V1NetworkPolicy>(objects, "NetworkPolicy", "routewise-router");
    expect(policy.spec?.ingress).toEqual([
      { ports: [{ port: "http", protocol: "TCP" }], from: [{ podSelector: { matchLabels: { role: "client" } } }] },
      {
        ports: [{ port: "metrics", protocol: "TCP" }],
        from: [{ namespaceSelector: { matchLabels: { role: "monitoring" } } }],
      },
    ]);
  });

  it("renders the example policies into the release namespace as a post-install hook when examples.enabled", async () => {
    const objects = await render(["examples.enabled=true"], "demo");
    const examples = parseObjects(
      ["providers.yaml", "routes.yaml", "secret.yaml"]
        .map((f) => readFileSync(join(repoRoot, "examples", f), "utf8"))
        .join("\n---\n"),
    );
    const names = (hook: string): string[] =>
      objects
        .filter((o) => o.metadata?.annotations?.["helm.sh/hook"] === hook)
        .map((o) => `${o.kind}/${o.metadata?.name}`)
        .sort();
    const expected = examples.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
    // Hooks, not release resources: Helm maps them after the release's objects exist, when the API server has
    // published the CRDs it just created (a release resource of a CRD's kind can hit "no matches for kind").
    expect(names("post-install")).toEqual(expected);
    const rendered = objects.filter((o) => ["ModelProvider", "ModelRoute"].includes(o.kind ?? ""));
    expect(rendered.filter((o) => o.metadata?.annotations?.["helm.sh/hook"] === undefined)).toEqual([]);
    expect(new Set(rendered.map((o) => o.metadata?.namespace))).toEqual(new Set(["demo"]));
    expect(new Set(rendered.map((o) => o.metadata?.labels?.["routewise.dev/example"]))).toEqual(new Set(["true"]));
  });

  it("deletes the example policies on uninstall with a pre-delete hook that Helm deletes again once created", async () => {
    const objects = await render(["examples.enabled=true"], "demo");
    const preDelete = objects.filter((o) => o.metadata?.annotations?.["helm.sh/hook"] === "pre-delete");
    const postInstall = objects.filter((o) => o.metadata?.annotations?.["helm.sh/hook"] === "post-install");
    expect(preDelete.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(
      postInstall.map((o) => `${o.kind}/${o.metadata?.name}`),
    );
    for (const o of preDelete)
      expect(o.metadata?.annotations?.["helm.sh/hook-delete-policy"]).toBe("before-hook-creation,hook-succeeded");
  });

  it("drops the HorizontalPodAutoscaler and sets replicas when router.autoscaling.enabled=false", async () => {
    const objects = await render(["router.autoscaling.enabled=false", "router.replicas=3"]);
    expect(kinds(objects)).not.toContain("HorizontalPodAutoscaler");
    expect(find<V1Deployment>(objects, "Deployment", "routewise-router").spec?.replicas).toBe(3);
  });

  it("keeps a terminating router serving for router.preStopSleepSeconds before SIGTERM, within the grace period", async () => {
    const router = find<V1Deployment>(await render(), "Deployment", "routewise-router");
    expect(container(router).lifecycle?.preStop?.sleep?.seconds).toBe(5);
    // The preStop sleep counts against the grace period; the router drains for up to 25 s after SIGTERM.
    expect(router.spec?.template.spec?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(5 + 25);
    const none = find<V1Deployment>(await render(["router.preStopSleepSeconds=0"]), "Deployment", "routewise-router");
    expect(container(none).lifecycle).toBeUndefined();
  });

  it("drops the PodDisruptionBudget when router.podDisruptionBudget.enabled=false", async () => {
    expect(kinds(await render(["router.podDisruptionBudget.enabled=false"]))).not.toContain("PodDisruptionBudget");
  });
});

describe("rendered objects (golden fields)", () => {
  it("renders the operator RBAC rules of operator/rbac/rbac.yaml exactly", async () => {
    const objects = await render();
    const source = parseObjects(readFileSync(join(repoRoot, "operator", "rbac", "rbac.yaml"), "utf8"));
    const rules = (kind: string, from: readonly KubernetesObject[]): unknown =>
      plainRules(find<V1ClusterRole | V1Role>(from, kind).rules);
    expect(rules("ClusterRole", objects)).toEqual(rules("ClusterRole", source));
    expect(rules("Role", objects)).toEqual(rules("Role", source));
    const role = find<V1Role>(objects, "Role");
    expect(role.metadata?.namespace).toBe(NAMESPACE);
  });

  it("renders, with operator.watchNamespaces, the same rules as a Role per watched namespace and no ClusterRole", async () => {
    const objects = await render(["operator.watchNamespaces={ops,team-a,team-b}"], "ops");
    expect(kinds(objects)).not.toContain("ClusterRole");
    expect(kinds(objects)).not.toContain("ClusterRoleBinding");
    const source = parseObjects(readFileSync(join(repoRoot, "operator", "rbac", "rbac.yaml"), "utf8"));
    // The cluster-wide namespaces rule (selector labels) has no namespaced equivalent: the Roles drop it.
    const watchRules = plainRules(
      (find<V1ClusterRole>(source, "ClusterRole").rules ?? []).filter((r) => !r.resources?.includes("namespaces")),
    );
    const name = "routewise-operator-watch-ops";
    for (const namespace of ["ops", "team-a", "team-b"]) {
      const inNamespace = objects.filter((o) => o.metadata?.namespace === namespace);
      expect(plainRules(find<V1Role>(inNamespace, "Role", name).rules), namespace).toEqual(watchRules);
      const binding = find<V1RoleBinding>(inNamespace, "RoleBinding", name);
      expect(binding.roleRef, namespace).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name });
      expect(binding.subjects, namespace).toEqual([
        { kind: "ServiceAccount", name: "routewise-operator", namespace: "ops" },
      ]);
    }
    // Beside its watch Role, the release namespace has the by-name Role (ConfigMap, Secret, Lease).
    const own = find<V1Role>(objects, "Role", "routewise-operator");
    expect(own.metadata?.namespace).toBe("ops");
    expect(plainRules(own.rules)).toEqual(plainRules(find<V1Role>(source, "Role").rules));
  });

  it("grants Secret reads only in the watched namespaces, and its own credentials Secret by name", async () => {
    const objects = await render(["operator.watchNamespaces={ops,team-a}"], "ops");
    const secretRules = objects
      .filter((o): o is V1Role => o.kind === "Role" || o.kind === "ClusterRole")
      .flatMap((role) =>
        (role.rules ?? [])
          .filter((r) => r.resources?.includes("secrets") && r.verbs.some((v) => ["get", "list", "watch"].includes(v)))
          .map((r) => ({ namespace: role.metadata?.namespace, names: r.resourceNames })),
      );
    expect(secretRules).toEqual([
      { namespace: "ops", names: undefined },
      { namespace: "team-a", names: undefined },
      { namespace: "ops", names: [CREDENTIALS_SECRET_NAME] },
    ]);
  });

  it("names in its Role the objects the operator writes for the default gateway (ConfigMap, Secret, Lease)", async () => {
    const role = find<V1Role>(await render(), "Role");
    const named = (role.rules ?? []).flatMap((r) => r.resourceNames ?? []);
    expect(named.sort()).toEqual([CONFIGMAP_NAME, DEFAULT_LEASE_NAME, CREDENTIALS_SECRET_NAME].sort());
  });

  it("names the gateway's ConfigMap and Secret after gateway.name, and the Lease after operator.leaseName", async () => {
    const objects = await render(["gateway.name=team-a", "operator.leaseName=team-a-operator"]);
    const named = (find<V1Role>(objects, "Role").rules ?? []).flatMap((r) => r.resourceNames ?? []);
    expect(named.sort()).toEqual([configMapName("team-a"), "team-a-operator", credentialsSecretName("team-a")].sort());
    const router = find<V1Deployment>(objects, "Deployment", "routewise-router");
    const sources = (router.spec?.template.spec?.volumes ?? []).flatMap((v) => v.projected?.sources ?? []);
    expect(sources).toEqual([
      { configMap: { name: configMapName("team-a") } },
      { secret: { name: credentialsSecretName("team-a") } },
    ]);
    expect(container(find<V1Deployment>(objects, "Deployment", "routewise-operator")).args).toContain(
      "--lease-name=team-a-operator",
    );
  });

  it("binds the operator's roles to the operator's ServiceAccount only; the router has none and no token", async () => {
    const objects = await render();
    const subjects = objects
      .filter((o) => o.kind === "ClusterRoleBinding" || o.kind === "RoleBinding")
      .flatMap((o) => (o as KubernetesObject & { subjects: { name: string; namespace: string }[] }).subjects);
    expect(subjects).toEqual([
      { kind: "ServiceAccount", name: "routewise-operator", namespace: NAMESPACE },
      { kind: "ServiceAccount", name: "routewise-operator", namespace: NAMESPACE },
    ]);
    expect(find<V1ServiceAccount>(objects, "ServiceAccount", "routewise-router").automountServiceAccountToken).toBe(
      false,
    );
    const router = find<V1Deployment>(objects, "Deployment", "routewise-router");
    expect(router.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    expect(router.spec?.template.spec?.serviceAccountName).toBe("routewise-router");
  });

  it("hardens both containers (non-root, read-only root, no escalation, no capabilities, RuntimeDefault)", async () => {
    const objects = await render();
    for (const name of ["routewise-operator", "routewise-router"]) {
      const d = find<V1Deployment>(objects, "Deployment", name);
      expect(d.spec?.template.spec?.securityContext, name).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(container(d).securityContext, name).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(container(d).resources?.requests, name).toBeDefined();
      expect(d.spec?.template.spec?.topologySpreadConstraints?.[0]?.labelSelector?.matchLabels, name).toEqual(
        d.spec?.selector.matchLabels,
      );
    }
  });

  it("mounts the operator's ConfigMap and Secret read-only as whole projected directories passed to the router", async () => {
    const router = find<V1Deployment>(await render(), "Deployment", "routewise-router");
    const c = container(router);
    const volumes = router.spec?.template.spec?.volumes ?? [];
    const mount = (name: string) => c.volumeMounts?.find((m) => m.name === name);
    expect(volumes.find((v) => v.name === "config")?.projected?.sources).toEqual([
      { configMap: { name: CONFIGMAP_NAME } },
    ]);
    expect(volumes.find((v) => v.name === "credentials")?.projected?.sources).toEqual([
      { secret: { name: CREDENTIALS_SECRET_NAME } },
    ]);
    expect(mount("config")).toEqual({ name: "config", mountPath: "/etc/routewise/config", readOnly: true });
    expect(mount("credentials")).toEqual({
      name: "credentials",
      mountPath: "/etc/routewise/credentials",
      readOnly: true,
    });
    expect(c.volumeMounts?.filter((m) => m.subPath !== undefined)).toEqual([]);
    expect(c.args).toEqual([
      "router",
      "--config=/etc/routewise/config",
      "--wait-for-config",
      "--credentials=/etc/routewise/credentials",
      "--port=8080",
      "--metrics-port=9464",
      "--workers=1",
    ]);
  });

  it("runs as many router workers as the CPU limit says when workers is auto, and one without a CPU limit", async () => {
    const args = async (values: string[]) =>
      container(find<V1Deployment>(await render(values), "Deployment", "routewise-router")).args ?? [];
    expect(await args([])).toContain("--workers=1");
    expect(await args(["router.resources.limits.cpu=1500m"])).toContain("--workers=auto");
    expect(await args(["router.workers=3"])).toContain("--workers=3");
    expect(await args(["router.workers=3", "router.resources.limits.cpu=2"])).toContain("--workers=3");
    await expect(render(["router.workers=0"])).rejects.toThrow(/workers/);
  });

  it("gives the router a named metrics port that its API Service does not carry", async () => {
    const objects = await render(["router.metricsPort=9100"]);
    const c = container(find<V1Deployment>(objects, "Deployment", "routewise-router"));
    expect(c.ports).toEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "metrics", containerPort: 9100, protocol: "TCP" },
    ]);
    expect(c.args).toContain("--metrics-port=9100");
    expect(find<V1Service>(objects, "Service", "routewise-router").spec?.ports).toEqual([
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
    ]);
  });

  it("probes /healthz and /readyz on each component's port", async () => {
    const objects = await render();
    const probes = (name: string): unknown => {
      const c = container(find<V1Deployment>(objects, "Deployment", name));
      return [c.livenessProbe?.httpGet, c.readinessProbe?.httpGet];
    };
    expect(probes("routewise-router")).toEqual([
      { path: "/healthz", port: "http" },
      { path: "/readyz", port: "http" },
    ]);
    expect(probes("routewise-operator")).toEqual([
      { path: "/healthz", port: "metrics" },
      { path: "/readyz", port: "metrics" },
    ]);
  });

  it("runs the operator with leader election in the release namespace", async () => {
    const objects = await render(["operator.replicas=2", "operator.watchNamespaces={ops,team-a}"], "ops");
    const d = find<V1Deployment>(objects, "Deployment", "routewise-operator");
    expect(d.spec?.replicas).toBe(2);
    expect(container(d).args).toEqual([
      "operator",
      "--namespace=ops",
      "--metrics-address=0.0.0.0:8081",
      `--controller-name=${DEFAULT_CONTROLLER_NAME}`,
      "--watch-namespaces=ops,team-a",
      "--quality-interval=60s",
      "--learning-interval=5m",
      `--lease-name=${DEFAULT_LEASE_NAME}`,
    ]);
    const single = find<V1Deployment>(
      await render(["operator.leaderElection.enabled=false"]),
      "Deployment",
      "routewise-operator",
    );
    expect(container(single).args).toContain("--no-leader-elect");
    expect(container(single).args?.filter((a) => a.startsWith("--lease-name"))).toEqual([]);
  });

  it("passes operator.prometheusURL and operator.qualityInterval to the operator (ADR 10)", async () => {
    const args = async (sets: string[]) =>
      container(find<V1Deployment>(await render(sets), "Deployment", "routewise-operator")).args ?? [];
    expect((await args([])).filter((a) => a.startsWith("--prometheus-url"))).toEqual([]);
    const set = await args([
      "operator.prometheusURL=http://prometheus-operated.monitoring:9090",
      "operator.qualityInterval=30s",
    ]);
    expect(set).toContain("--prometheus-url=http://prometheus-operated.monitoring:9090");
    expect(set).toContain("--quality-interval=30s");
  });

  it("uses one image for both components: repository, tag defaulting to appVersion, or a digest", async () => {
    const chart = parseYaml(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as { appVersion: string };
    const images = async (sets: string[]): Promise<string[]> =>
      (await render(sets)).filter((o) => o.kind === "Deployment").map((d) => container(d as V1Deployment).image ?? "");
    expect(await images([])).toEqual(Array(2).fill(`ghcr.io/routewise/routewise:${chart.appVersion}`));
    expect(await images(["image.repository=registry.example/rw", "image.tag=dev"])).toEqual(
      Array(2).fill("registry.example/rw:dev"),
    );
    const digest = `sha256:${"a".repeat(64)}`;
    expect(await images([`image.digest=${digest}`])).toEqual(Array(2).fill(`ghcr.io/routewise/routewise@${digest}`));
  });

  it("mounts a custom classifier from router.extraVolumes/extraVolumeMounts beside the chart's own volumes", async () => {
    const router = find<V1Deployment>(await render(CUSTOM_CLASSIFIER_VOLUME), "Deployment", "routewise-router");
    const spec = router.spec?.template.spec;
    expect(spec?.volumes?.map((v) => v.name)).toEqual(["config", "credentials", "tmp", "my-classifier"]);
    expect(spec?.volumes?.at(-1)).toEqual({
      name: "my-classifier",
      persistentVolumeClaim: { claimName: "my-classifier", readOnly: true },
    });
    expect(container(router).volumeMounts?.at(-1)).toEqual({
      name: "my-classifier",
      mountPath: "/models/my-classifier",
      readOnly: true,
    });
  });

  it("mounts operator.extraVolumes/extraVolumeMounts into the operator only", async () => {
    const objects = await render([
      "operator.extraVolumes[0].name=ca-bundle",
      "operator.extraVolumes[0].configMap.name=corporate-ca",
      "operator.extraVolumeMounts[0].name=ca-bundle",
      "operator.extraVolumeMounts[0].mountPath=/etc/ssl/corporate",
    ]);
    const operator = find<V1Deployment>(objects, "Deployment", "routewise-operator");
    expect(operator.spec?.template.spec?.volumes?.at(-1)).toEqual({
      name: "ca-bundle",
      configMap: { name: "corporate-ca" },
    });
    expect(container(operator).volumeMounts?.at(-1)).toEqual({ name: "ca-bundle", mountPath: "/etc/ssl/corporate" });
    const router = find<V1Deployment>(objects, "Deployment", "routewise-router");
    expect(router.spec?.template.spec?.volumes?.map((v) => v.name)).toEqual(["config", "credentials", "tmp"]);
  });

  it("passes the client API keys file when router.apiKeys.existingSecret is set", async () => {
    const router = find<V1Deployment>(
      await render(["router.apiKeys.existingSecret=keys"]),
      "Deployment",
      "routewise-router",
    );
    expect(container(router).args).toContain("--api-keys=/etc/routewise/api-keys/api-keys.yaml");
    const volume = router.spec?.template.spec?.volumes?.find((v) => v.name === "api-keys");
    expect(volume?.projected?.sources).toEqual([{ secret: { name: "keys" } }]);
  });
});

describe("shared state (issue 17)", () => {
  it("passes no Redis flag by default: state in memory, per replica", async () => {
    const router = find<V1Deployment>(await render([]), "Deployment", "routewise-router");
    expect(container(router).args?.filter((a) => a.startsWith("--redis") || a.startsWith("--state"))).toEqual([]);
  });

  it("passes state.redis, its password and CA files, the failure policy and a per-gateway key prefix", async () => {
    const objects = await render(
      [
        "state.redis.url=rediss://redis.cache.svc:6380/0",
        "state.redis.passwordSecret.name=redis-auth",
        "state.redis.tls.caSecret.name=redis-ca",
        "state.failurePolicy=closed",
      ],
      "ops",
    );
    const router = find<V1Deployment>(objects, "Deployment", "routewise-router");
    expect(container(router).args).toEqual(
      expect.arrayContaining([
        "--redis-url=rediss://redis.cache.svc:6380/0",
        "--state-key-prefix=routewise:ops/routewise",
        "--state-failure-policy=closed",
        "--state-timeout=200",
        "--redis-password-file=/etc/routewise/redis-password/password",
        "--redis-ca-file=/etc/routewise/redis-ca/ca.crt",
      ]),
    );
    const volumes = router.spec?.template.spec?.volumes ?? [];
    expect(volumes.find((v) => v.name === "redis-password")?.projected?.sources).toEqual([
      { secret: { name: "redis-auth", items: [{ key: "password", path: "password" }] } },
    ]);
    expect(volumes.find((v) => v.name === "redis-ca")?.projected?.sources).toEqual([
      { secret: { name: "redis-ca", items: [{ key: "ca.crt", path: "ca.crt" }] } },
    ]);
    const mounts = container(router).volumeMounts ?? [];
    expect(mounts.filter((m) => m.name.startsWith("redis-")).map((m) => [m.mountPath, m.readOnly])).toEqual([
      ["/etc/routewise/redis-password", true],
      ["/etc/routewise/redis-ca", true],
    ]);
  });
});

describe("the default ModelGateway", () => {
  it("is created in the release namespace, names the operator's controller and admits only its own namespace", async () => {
    const objects = await render([], "ops");
    const gateway = find<Gateway>(objects, "ModelGateway");
    expect(gateway.metadata?.name).toBe(DEFAULT_GATEWAY_NAME);
    expect(gateway.metadata?.namespace).toBe("ops");
    expect(gateway.spec).toEqual({
      controllerName: DEFAULT_CONTROLLER_NAME,
      allowedRoutes: { namespaces: { from: "Same" } },
    });
    expect(validateGateway(gateway).ok).toBe(true);
  });

  it("gives the gateway and the operator's --controller-name the same operator.controllerName", async () => {
    const objects = await render(["operator.controllerName=example.com/team-a"]);
    expect(find<Gateway>(objects, "ModelGateway").spec.controllerName).toBe("example.com/team-a");
    expect(container(find<V1Deployment>(objects, "Deployment", "routewise-operator")).args).toContain(
      "--controller-name=example.com/team-a",
    );
  });

  it("renders gateway.allowedRoutes and gateway.modelNames into the gateway's spec as the CRD accepts them", async () => {
    const gateway = find<Gateway>(
      await render([
        "gateway.allowedRoutes.namespaces.from=Selector",
        "gateway.allowedRoutes.namespaces.selector.matchLabels.routewise\\.dev/gateway=routewise",
        "gateway.modelNames[0].names={assistant,platform-*}",
        "gateway.modelNames[0].namespaces.from=Same",
      ]),
      "ModelGateway",
    );
    expect(gateway.spec.allowedRoutes).toEqual({
      namespaces: { from: "Selector", selector: { matchLabels: { "routewise.dev/gateway": "routewise" } } },
    });
    expect(gateway.spec.modelNames).toEqual([{ names: ["assistant", "platform-*"], namespaces: { from: "Same" } }]);
    expect(validateGateway(gateway).ok).toBe(true);
  });

  it("renders gateway.teamBudgets into the gateway's spec as the CRD accepts them", async () => {
    const gateway = find<Gateway>(
      await render([
        "gateway.teamBudgets[0].team=search",
        "gateway.teamBudgets[0].usd=200",
        "gateway.teamBudgets[0].period=month",
        "gateway.teamBudgets[0].onExhausted=reject",
      ]),
      "ModelGateway",
    );
    expect(gateway.spec.teamBudgets).toEqual([{ team: "search", usd: 200, period: "month", onExhausted: "reject" }]);
    expect(validateGateway(gateway).ok).toBe(true);
  });

  it("is not rendered with gateway.create=false, while the router still mounts that gateway's config", async () => {
    const objects = await render(["gateway.create=false", "gateway.name=shared"]);
    expect(kinds(objects)).not.toContain("ModelGateway");
    const router = find<V1Deployment>(objects, "Deployment", "routewise-router");
    const volume = router.spec?.template.spec?.volumes?.find((v) => v.name === "config");
    expect(volume?.projected?.sources).toEqual([{ configMap: { name: configMapName("shared") } }]);
  });

  it("defaults to the names the operator and the router config use (gateway, controller, Lease)", () => {
    const values = parseYaml(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")) as {
      gateway: { name: string };
      operator: { controllerName: string; leaseName: string };
    };
    expect([values.gateway.name, values.operator.controllerName, values.operator.leaseName]).toEqual([
      DEFAULT_GATEWAY_NAME,
      DEFAULT_CONTROLLER_NAME,
      DEFAULT_LEASE_NAME,
    ]);
  });
});

describe("the CRDs", () => {
  const crdFiles = readdirSync(join(repoRoot, "crds")).filter((f) => f.endsWith(".yaml"));

  it("are not templates: helm template renders none without --include-crds", async () => {
    expect(kinds(await render(ALL_FEATURES))).not.toContain("CustomResourceDefinition");
  });

  it("render with --include-crds exactly as the repository's crds/, ahead of every template", async () => {
    const objects = await render([], NAMESPACE, "routewise", ["--include-crds"]);
    const crds = objects.filter((o): o is V1CustomResourceDefinition => o.kind === "CustomResourceDefinition");
    const sources = crdFiles.map((f) => parseObjects(readFileSync(join(repoRoot, "crds", f), "utf8"))[0]);
    expect(crds.map((c) => plain(c)).sort(byName)).toEqual(sources.map((c) => plain(c)).sort(byName));
    expect(kinds(objects.slice(0, crds.length))).toEqual(crds.map(() => "CustomResourceDefinition"));
  });
});

function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

function byName(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const name = (o: Record<string, unknown>): string => String((o["metadata"] as { name?: string }).name);
  return name(a).localeCompare(name(b));
}
