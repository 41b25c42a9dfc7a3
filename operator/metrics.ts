/** The operator's metrics, defined once (prefix routewise_operator_). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;

export function createOperatorMetrics(registry: Registry = new Registry()) {
  // prom-client's names already start with process_ / nodejs_: routewise_operator_process_cpu_seconds_total, …
  collectDefaultMetrics({ register: registry, prefix: "routewise_operator_" });
  // prom-client's default gauges named *_total, which `promtool check metrics` rejects (as in the router).
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(`routewise_operator_${name}`);
  }
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: "routewise_operator_reconciles_total",
      help: "Reconciles by result (success, error).",
      labelNames: ["result"] as const,
      registers,
    }),
    reconcileDuration: new Histogram({
      name: "routewise_operator_reconcile_duration_seconds",
      help: "Time to compile the policies and write outputs and status.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({
      name: "routewise_operator_queue_depth",
      help: "Keys waiting in the work queue.",
      registers,
    }),
    writes: new Counter({
      name: "routewise_operator_writes_total",
      help: "Writes to the API server by object kind (ConfigMap, Secret, ModelProvider status, ModelRoute status).",
      labelNames: ["object"] as const,
      registers,
    }),
    configInfo: new Gauge({
      name: "routewise_operator_config_info",
      help: "1 for the router config hash the operator last compiled, per ModelGateway (namespace/name).",
      labelNames: ["gateway", "hash"] as const,
      registers,
    }),
    lastSuccess: new Gauge({
      name: "routewise_operator_last_successful_reconcile_timestamp_seconds",
      help: "Unix time of the last reconcile that wrote everything it had to.",
      registers,
    }),
    qualityReads: new Counter({
      name: "routewise_operator_quality_reads_total",
      help: "Reads of measured quality from Prometheus (--prometheus-url) by result (success, error).",
      labelNames: ["result"] as const,
      registers,
    }),
    secretReads: new Counter({
      name: "routewise_operator_secret_reads_total",
      help: "Reads of a referenced Secret's values by name, by result (success, not_found, error); Secrets are otherwise watched as metadata only, and an unchanged one is not read again.",
      labelNames: ["result"] as const,
      registers,
    }),
    secretsHeld: new Gauge({
      name: "routewise_operator_secrets_held",
      help: "Secrets whose values the operator holds: those a valid ModelProvider or ModelClientKey references.",
      registers,
    }),
    leader: new Gauge({
      name: "routewise_operator_leader",
      help: "1 while this replica holds the leader Lease.",
      registers,
    }),
  };
}
