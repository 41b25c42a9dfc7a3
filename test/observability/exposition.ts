/**
 * Stand-in router replicas for the measured-quality rules (ADR 10): each serves, over HTTP, the ADR's metrics with
 * the names and labels the router will export, rendered by prom-client (so the text is exactly prom-client's
 * exposition format), with counter values the test sets. A later step can start real routers instead: the tests
 * only need `address`, the `record*` methods and `close`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Registry } from "prom-client";

export type Arm = "policy" | "baseline";

/** One judged sample: the routed answer's and the baseline's score (1–10). */
export interface JudgedSample {
  routed: number;
  baseline: number;
}

function contractMetrics(registry: Registry) {
  const r = [registry];
  return {
    samples: new Counter({
      name: "routewise_evaluation_samples_total",
      help: "Evaluation samples with scores recorded.",
      labelNames: ["route", "model"] as const,
      registers: r,
    }),
    score: new Counter({
      name: "routewise_evaluation_score_total",
      help: "Sum of judge scores by side (routed, baseline).",
      labelNames: ["route", "model", "side"] as const,
      registers: r,
    }),
    scoreSquared: new Counter({
      name: "routewise_evaluation_score_squared_total",
      help: "Sum of squared judge scores by side.",
      labelNames: ["route", "model", "side"] as const,
      registers: r,
    }),
    scoreProduct: new Counter({
      name: "routewise_evaluation_score_product_total",
      help: "Sum of routed times baseline scores.",
      labelNames: ["route", "model"] as const,
      registers: r,
    }),
    failures: new Counter({
      name: "routewise_evaluation_failures_total",
      help: "Evaluations that produced no score, by reason.",
      labelNames: ["route", "reason"] as const,
      registers: r,
    }),
    evaluationCost: new Counter({
      name: "routewise_evaluation_cost_usd_total",
      help: "Evaluation spend in USD.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    paused: new Gauge({
      name: "routewise_evaluation_paused",
      help: "1 while the spend cap pauses sampling.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    feedback: new Counter({
      name: "routewise_feedback_total",
      help: "Feedback received.",
      labelNames: ["route", "model"] as const,
      registers: r,
    }),
    feedbackScore: new Counter({
      name: "routewise_feedback_score_total",
      help: "Sum of feedback scores in [0, 1].",
      labelNames: ["route", "model"] as const,
      registers: r,
    }),
    objective: new Gauge({
      name: "routewise_route_objective_retention",
      help: "The route's minQualityRetention.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    projectedCost: new Counter({
      name: "routewise_projected_cost_usd_total",
      help: "Shadow routes: the tokens at the decided model's prices, in USD.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    cost: new Counter({
      name: "routewise_cost_usd_total",
      help: "Cost of answered requests in USD at the answering provider's prices.",
      labelNames: ["route", "provider", "model", "arm"] as const,
      registers: r,
    }),
    baselineCost: new Counter({
      name: "routewise_baseline_cost_usd_total",
      help: "What the same tokens would have cost at the route's baseline provider's prices, in USD.",
      labelNames: ["route", "arm"] as const,
      registers: r,
    }),
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
