/**
 * Stand-in router replicas for the measured-quality rules (ADR 10): each serves, over HTTP, the router's own metric
 * definitions (router/metrics) rendered by prom-client, with counter values the test sets, so the rules can be
 * checked against hand-computed numbers. judged-routers.test.ts runs the same rules on real routers.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { createRouterMetrics } from "../../router/metrics/metrics.js";

export type Arm = "policy" | "baseline";

/** One judged sample: the routed answer's and the baseline's score (1–10). */
export interface JudgedSample {
  routed: number;
  baseline: number;
}

/** The router's own metric definitions, under the short names this file uses. */
function contractMetrics(registry: Registry) {
  const m = createRouterMetrics(registry, { defaultMetrics: false });
  return {
    samples: m.evaluationSamples,
    score: m.evaluationScore,
    scoreSquared: m.evaluationScoreSquared,
    scoreProduct: m.evaluationScoreProduct,
    failures: m.evaluationFailures,
    evaluationCost: m.evaluationCost,
    paused: m.evaluationPaused,
    feedback: m.feedback,
    feedbackScore: m.feedbackScore,
    objective: m.routeObjectiveRetention,
    projectedCost: m.projectedCost,
    cost: m.cost,
    baselineCost: m.baselineCost,
  };
}

export interface StandInReplica {
  /** host:port serving /metrics */
  address: string;
  /** Creates a route's series at zero (as a router does when a config loads), with its objective. */
  initialiseRoute(route: string, model: string, objective: number): void;
  recordSamples(route: string, model: string, samples: readonly JudgedSample[]): void;
  recordCost(route: string, o: { model: string; arm: Arm; cost: number; baseline: number; projected?: number }): void;
  recordFeedback(route: string, model: string, scores: readonly number[]): void;
  /** Adds `count` evaluation failures (0 creates the series). */
  recordFailures(route: string, reason: string, count: number): void;
  /** Stops serving (open scrape connections included): Prometheus then sees the target down. */
  close(): Promise<void>;
}

export async function startStandInReplica(): Promise<StandInReplica> {
  const registry = new Registry();
  const m = contractMetrics(registry);
  const server: Server = createServer((_req, res) => {
    void registry.metrics().then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    initialiseRoute(route, model, objective) {
      m.samples.inc({ route, model }, 0);
      m.scoreProduct.inc({ route, model }, 0);
      for (const side of ["routed", "baseline"]) {
        m.score.inc({ route, model, side }, 0);
        m.scoreSquared.inc({ route, model, side }, 0);
      }
      m.feedback.inc({ route, model }, 0);
      m.feedbackScore.inc({ route, model }, 0);
      m.evaluationCost.inc({ route }, 0);
      m.paused.set({ route }, 0);
      m.objective.set({ route }, objective);
    },
    recordSamples(route, model, samples) {
      for (const s of samples) {
        m.samples.inc({ route, model });
        m.score.inc({ route, model, side: "routed" }, s.routed);
        m.score.inc({ route, model, side: "baseline" }, s.baseline);
        m.scoreSquared.inc({ route, model, side: "routed" }, s.routed ** 2);
        m.scoreSquared.inc({ route, model, side: "baseline" }, s.baseline ** 2);
        m.scoreProduct.inc({ route, model }, s.routed * s.baseline);
      }
    },
    recordCost(route, o) {
      m.cost.inc({ route, provider: `default/${o.model}`, model: o.model, arm: o.arm }, o.cost);
      m.baselineCost.inc({ route, arm: o.arm }, o.baseline);
      if (o.projected !== undefined) m.projectedCost.inc({ route }, o.projected);
    },
    recordFeedback(route, model, scores) {
      for (const score of scores) {
        m.feedback.inc({ route, model });
        m.feedbackScore.inc({ route, model }, score);
      }
    },
    recordFailures(route, reason, count) {
      m.failures.inc({ route, reason }, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
