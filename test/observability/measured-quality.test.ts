/**
 * Real Prometheus (Debian's `prometheus`) loading the real routewise-rules.yaml, scraping two stand-in router
 * replicas (exposition.ts: ADR 10's metrics rendered by prom-client, values set here) every second. Checks the
 * measured-quality recording rules (retention, its lower bound, savings, projected savings, feedback) against what
 * the counters imply, and the measured-quality and absent alerts going pending.
 *
 * rate()/increase() over [1h] extrapolate the few seconds of data to the window's end by up to one scrape interval,
 * each replica by its own factor: ratios barely move (the factor cancels within a replica), sums and $/h move by up
 * to ~1 scrape interval / data span. Every check polls (bounded) until Prometheus agrees.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../router/config/package-root.js";
import {
  contractMetricNames,
  DASHBOARD_PATH,
  dashboardQueries,
  readJson,
  readsMeasuredQuality,
  RULES_PATH,
  substituteVariables,
} from "./dashboard.js";
import { startStandInReplica, type JudgedSample, type StandInReplica } from "./exposition.js";
import { startPrometheus, type PromSample, type RunningPrometheus } from "./prometheus.js";

const NAMESPACE = "routewise-quality";
const JOB = "routewise-router";

const repeat = (samples: JudgedSample[], times: number): JudgedSample[] =>
  Array.from({ length: times }, () => samples).flat();

/** chat on replica a (model cheap) and b (model mid): R = 295 / 335 = 0.8806, 35 samples. */
const CHAT_A = repeat(
  [
    { routed: 8, baseline: 10 },
    { routed: 9, baseline: 10 },
    { routed: 10, baseline: 10 },
    { routed: 7, baseline: 9 },
  ],
  5,
);
const CHAT_B = repeat(
  [
    { routed: 9, baseline: 10 },
    { routed: 10, baseline: 10 },
    { routed: 6, baseline: 8 },
  ],
  5,
);
/** fine on replica a: R = 0.95, 30 samples, objective 0.5. */
const FINE = repeat(
  [
    { routed: 9, baseline: 10 },
    { routed: 10, baseline: 10 },
  ],
  15,
);

/** The delta-method bound of ADR 10 from the samples themselves (residual form: Σ (r − R·b)²). */
function expectedRetention(samples: readonly JudgedSample[]): { ratio: number; bound: number } {
  const n = samples.length;
  const sr = samples.reduce((s, x) => s + x.routed, 0);
  const sb = samples.reduce((s, x) => s + x.baseline, 0);
  const ratio = sr / sb;
  const residuals = samples.reduce((s, x) => s + (x.routed - ratio * x.baseline) ** 2, 0);
  const variance = ((n / (n - 1)) * residuals) / sb ** 2;
  return { ratio, bound: ratio - 1.645 * Math.sqrt(variance) };
}

let a: StandInReplica | undefined;
let b: StandInReplica | undefined;
let prom: RunningPrometheus | undefined;

beforeAll(async () => {
  a = await startStandInReplica();
  b = await startStandInReplica();
  // chat's objective differs between replicas (a config rollout in progress): the alert takes the max, 0.95.
  a.initialiseRoute("chat", "cheap", 0.95);
  a.initialiseRoute("fine", "cheap", 0.5);
  b.initialiseRoute("chat", "mid", 0.9);
  b.initialiseRoute("pilot", "mid", 0.9);
  a.recordCost("chat", { model: "cheap", arm: "policy", cost: 0, baseline: 0 });
  a.recordCost("chat", { model: "strong", arm: "baseline", cost: 0, baseline: 0 });
  b.recordCost("chat", { model: "mid", arm: "policy", cost: 0, baseline: 0 });
  b.recordCost("pilot", { model: "strong", arm: "policy", cost: 0, baseline: 0, projected: 0 });
  b.recordFailures("chat", "judge_error", 0);
  const p = await startPrometheus({
    targets: [
      { job: JOB, address: a.address, labels: { namespace: NAMESPACE } },
      { job: JOB, address: b.address, labels: { namespace: NAMESPACE } },
    ],
    ruleFiles: [join(packageRoot(), RULES_PATH)],
  });
  prom = p;
  // Samples start once Prometheus holds every series at zero, so increase() sees all of them.
  await p.waitFor("the first scrape of both replicas", async () => {
    return (await p.query(`routewise_evaluation_samples_total{job="${JOB}"}`)).length === 4;
  });
  a.recordSamples("chat", "cheap", CHAT_A);
  b.recordSamples("chat", "mid", CHAT_B);
  a.recordSamples("fine", "cheap", FINE);
  a.recordCost("chat", { model: "cheap", arm: "policy", cost: 1, baseline: 4 });
  a.recordCost("chat", { model: "strong", arm: "baseline", cost: 0.5, baseline: 0.5 });
  b.recordCost("chat", { model: "mid", arm: "policy", cost: 2, baseline: 6 });
  b.recordCost("pilot", { model: "strong", arm: "policy", cost: 4, baseline: 4, projected: 1 });
  a.recordFeedback("chat", "cheap", [1, 1, 0.5, 0.5]);
  b.recordFeedback("chat", "mid", [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
  b.recordFailures("chat", "judge_error", 2); // 2 of 37 attempts, under 10 failures: no RoutewiseEvaluationFailing
  await p.waitFor("a scrape of both replicas after the samples", async () => {
    return value(await p.query("sum(routewise_evaluation_samples_total)")) === 65;
  });
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await a?.close();
  await b?.close();
});

function value(samples: PromSample[]): number {
  const v = samples[0]?.value[1];
  return v === undefined ? Number.NaN : Number(v);
}

async function byRoute(expr: string): Promise<Map<string, number>> {
  const samples = await prom!.query(expr);
  return new Map(samples.map((s) => [s.metric["route"] ?? "", Number(s.value[1])]));
}

/** Polls `check` (assertions inside) until it passes; the timeout error carries the last failed assertion. */
async function eventually(what: string, check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  await prom!.waitFor(
    what,
    async () => {
      await check();
      return true;
    },
    timeoutMs,
  );
}

describe("observability: measured quality rules on two stand-in router replicas", () => {
  it("serves exactly ADR 10's metric names from the stand-in replicas", async () => {
    const text = await (await fetch(`http://${a!.address}/metrics`)).text();
    const names = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    for (const name of contractMetricNames()) expect(names, name).toContain(name);
  });

  it("counts the samples of both replicas per route", async () => {
    await eventually("samples per route", async () => {
      const n = await byRoute(`routewise:evaluation_samples:increase1h{namespace="${NAMESPACE}"}`);
      // Extrapolation only ever adds (at most one scrape interval's worth).
      expect(n.get("chat")).toBeGreaterThanOrEqual(35);
      expect(n.get("chat")).toBeLessThan(35 * 1.5);
      expect(n.get("fine")).toBeGreaterThanOrEqual(30);
      expect(n.get("pilot")).toBe(0);
    });
  });

  it("computes the measured retention the counters imply, within 0.01", async () => {
    const chat = expectedRetention([...CHAT_A, ...CHAT_B]);
    const fine = expectedRetention(FINE);
    expect(chat.ratio).toBeCloseTo(295 / 335, 10);
    await eventually("measured retention", async () => {
      const r = await byRoute(`routewise:measured_retention:ratio1h{namespace="${NAMESPACE}"}`);
      expect(Math.abs(r.get("chat")! - chat.ratio)).toBeLessThan(0.01);
      expect(Math.abs(r.get("fine")! - fine.ratio)).toBeLessThan(0.01);
      expect(r.has("pilot")).toBe(false); // no sample: no series (not NaN)
    });
  });

  it("computes a lower bound below the retention, above 0, and near the delta-method value", async () => {
    const chat = expectedRetention([...CHAT_A, ...CHAT_B]);
    expect(chat.bound).toBeGreaterThan(0.8);
    expect(chat.bound).toBeLessThan(chat.ratio - 0.02);
    await eventually("the lower bound", async () => {
      const bound = await byRoute(`routewise:measured_retention_lower_bound:ratio1h{namespace="${NAMESPACE}"}`);
      const ratio = await byRoute(`routewise:measured_retention:ratio1h{namespace="${NAMESPACE}"}`);
      for (const route of ["chat", "fine"]) {
        expect(bound.get(route), route).toBeGreaterThan(0);
        expect(bound.get(route), route).toBeLessThan(ratio.get(route)!);
      }
      expect(Math.abs(bound.get("chat")! - chat.bound)).toBeLessThan(0.01);
      expect(bound.has("pilot")).toBe(false);
    });
  });

  it("computes measured and projected savings over both arms and replicas", async () => {
    await eventually("savings", async () => {
      const ratio = await byRoute(`routewise:savings_ratio:rate1h{namespace="${NAMESPACE}"}`);
      expect(Math.abs(ratio.get("chat")! - (1 - 3.5 / 10.5))).toBeLessThan(0.01);
      expect(Math.abs(ratio.get("pilot")!)).toBeLessThan(0.01);
      const saved = await byRoute(`routewise:saved_usd_per_hour:rate1h{namespace="${NAMESPACE}"}`);
      expect(saved.get("chat")).toBeGreaterThanOrEqual(7 * 0.99);
      expect(saved.get("chat")).toBeLessThan(7 * 1.5);
      const projected = await byRoute(`routewise:projected_savings_ratio:rate1h{namespace="${NAMESPACE}"}`);
      expect([...projected.keys()]).toEqual(["pilot"]); // only the route with a projected cost
      expect(Math.abs(projected.get("pilot")! - 0.75)).toBeLessThan(0.01);
      const projectedSaved = await byRoute(`routewise:projected_saved_usd_per_hour:rate1h{namespace="${NAMESPACE}"}`);
      expect(projectedSaved.get("pilot")).toBeGreaterThanOrEqual(3 * 0.99);
      expect(projectedSaved.get("pilot")).toBeLessThan(3 * 1.5);
    });
  });

  it("computes the mean feedback score over both replicas", async () => {
    await eventually("feedback mean", async () => {
      const mean = await byRoute(`routewise:feedback_score:mean1h{namespace="${NAMESPACE}"}`);
      expect(Math.abs(mean.get("chat")! - 0.6)).toBeLessThan(0.01);
      expect(mean.has("fine")).toBe(false); // no feedback: no series
    });
  });

  it("puts the measured-retention alert in pending for chat only, and the operator absent alert", async () => {
    await eventually("pending alerts", async () => {
      const alerts = (await prom!.alerts()).map(
        (x) => `${x.labels["alertname"]}/${x.labels["route"] ?? ""}/${x.state}`,
      );
      expect(alerts).toContain("RoutewiseMeasuredRetentionBelowObjective/chat/pending");
      expect(alerts.filter((x) => /MeasuredRetention.*\/(fine|pilot)\//.test(x))).toEqual([]);
      expect(alerts).toContain("RoutewiseOperatorAbsent//pending"); // this test scrapes no operator
      expect(alerts.filter((x) => x.startsWith("RoutewiseRoutersAbsent"))).toEqual([]);
      expect(alerts.filter((x) => x.startsWith("RoutewiseEvaluation"))).toEqual([]);
    });
  });

  it("returns finite data for every measured-quality dashboard query", async () => {
    const variables = {
      __rate_interval: "1m",
      __interval: "15s",
      __range: "1h",
      namespace: NAMESPACE,
      route: "chat|fine|pilot",
      retention_target: "0.95",
    };
    const queries = dashboardQueries(readJson(DASHBOARD_PATH)).filter((q) => readsMeasuredQuality(q.expr));
    expect(queries.length).toBeGreaterThanOrEqual(8);
    await eventually("dashboard data", async () => {
      const empty: string[] = [];
      for (const q of queries) {
        const result = await prom!.query(substituteVariables(q.expr, variables));
        if (result.length === 0 || result.some((s) => !Number.isFinite(Number(s.value[1]))))
          empty.push(`${q.panel} (${q.refId}): ${q.expr}`);
      }
      expect(empty).toEqual([]);
    });
  });

  it("puts RoutewiseRoutersAbsent in pending once both replicas stop answering", async () => {
    await a!.close();
    await b!.close();
    await eventually("RoutewiseRoutersAbsent pending", async () => {
      const alerts = (await prom!.alerts()).map((x) => `${x.labels["alertname"]}/${x.state}`);
      expect(alerts).toContain("RoutewiseRoutersAbsent/pending");
    });
  });
});
