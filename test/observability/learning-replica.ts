/**
 * Stand-in router replicas for learned quality (ADR 12): each serves, over HTTP, the router's own metrics
 * (router/metrics) as written by the router's own evaluation record and learning ledger (router/accounting), so
 * what Prometheus scrapes is exactly what a router writes for the labels the test hands it — without providers,
 * a judge or a request path. judged-routers.test.ts runs real routers end to end for ADR 10's counters.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createEvaluationRecorder } from "../../router/accounting/evaluation-record.js";
import { LearningLedger } from "../../router/accounting/learning-ledger.js";
import type { LearningLabel } from "../../router/learn/evidence.js";
import { createRouterMetrics } from "../../router/metrics/metrics.js";

export interface LearningReplica {
  /** host:port serving /metrics */
  address: string;
  /** Records each label as a judged sample of `route` (its decision left in the ledger first, as a router does). */
  record(route: string, labels: readonly LearningLabel[]): void;
  close(): Promise<void>;
}

export async function startLearningReplica(): Promise<LearningReplica> {
  const registry = new Registry();
  const metrics = createRouterMetrics(registry, { defaultMetrics: false });
  const ledger = new LearningLedger();
  const evaluations = createEvaluationRecorder(metrics, pino({ level: "silent" }), { ledger });
  let next = 0;
  const server: Server = createServer((_req, res) => {
    void registry.metrics().then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    record(route, labels) {
      for (const l of labels) {
        const id = `req-${next++}`;
        const { segment, provider, baselineProvider, propensity, options, baselineCost } = l;
        ledger.remember(id, { segment, provider, baselineProvider, propensity, options: [...options], baselineCost });
        const scores = { routed: l.routed, baseline: l.baseline };
        if (l.agreement) evaluations.sample(route, l.model, scores, id, l.agreement);
        else evaluations.sample(route, l.model, scores, id);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
