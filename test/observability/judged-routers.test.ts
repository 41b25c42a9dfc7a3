/**
 * Measured retention end to end: two real routers (one config, as two replicas of a Deployment) answer from a cheap
 * mock, sample every request, ask the strong mock for the baseline answer and the mock judge to grade both; Debian's
 * Prometheus scrapes both routers' metrics listeners and evaluates the real routewise-rules.yaml. The recording
 * rules must give the retention the mock judge implies.
 *
 * The mock judge grades an answer by the tag it starts with — the cheap mock writes `[good]` or `[weak]` depending on
 * the prompt, the strong mock `[strong-model]` — and adds 1 to the answer shown first. Asked twice with the answers
 * swapped, each side's score is the mean: good 8 → 8.5, weak 4 → 4.5, strong 8 → 8.5.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../router/config/package-root.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { waitFor } from "../harness/kube.js";
import {
  metricValue,
  mockProvider,
  route,
  routerConfig,
  startJsonRouter,
  type JsonRouter,
} from "../router/json-router.js";
import { RULES_PATH } from "./dashboard.js";
import { startPrometheus, type RunningPrometheus } from "./prometheus.js";

const JOB = "routewise-router";
const NAMESPACE = "routewise-judged";
const ROUTE = "judged";
const KEYS = {
  "default.cheap": "sk-cheap-OBS-1",
  "default.strong": "sk-strong-OBS-2",
  "default.judge": "sk-judge-OBS-3",
};

/** Requests per replica: [good, weak]. */
const TRAFFIC: [number, number][] = [
  [8, 4],
  [4, 8],
];
const SCORE = { good: 8.5, weak: 4.5, baseline: 8.5 };

let mocks: OpenAIMockHandle[] = [];
let routers: JsonRouter[] = [];
let prom: RunningPrometheus | undefined;

/** What the judge's scores imply: the ratio of sums and ADR 10's delta-method lower bound. */
function implied(): { ratio: number; bound: number; n: number } {
  const samples = TRAFFIC.flatMap(([good, weak]) => [
    ...Array.from({ length: good }, () => ({ r: SCORE.good, b: SCORE.baseline })),
    ...Array.from({ length: weak }, () => ({ r: SCORE.weak, b: SCORE.baseline })),
  ]);
  const n = samples.length;
  const sr = samples.reduce((s, x) => s + x.r, 0);
  const sb = samples.reduce((s, x) => s + x.b, 0);
  const ratio = sr / sb;
  const residuals = samples.reduce((s, x) => s + (x.r - ratio * x.b) ** 2, 0);
  return { ratio, bound: ratio - 1.645 * Math.sqrt(((n / (n - 1)) * residuals) / sb ** 2), n };
}

beforeAll(async () => {
  const [cheap, strong, judge] = await Promise.all([
    startOpenAIMock({ reply: (prompt) => (prompt.includes("weak") ? "[weak] a thin answer" : "[good] a full answer") }),
    startOpenAIMock({ tagModel: true }),
    startOpenAIMock({ judge: { scores: { good: 8, weak: 4, "strong-model": 8 }, positionBias: 1 } }),
  ]);
  mocks = [cheap, strong, judge];
  const providers = [
    mockProvider("cheap", cheap.url, 60, [0.1, 0.2]),
    mockProvider("strong", strong.url, 90, [5, 15]),
    mockProvider("judge", judge.url, 95, [2, 8]),
  ];
  const routes = [
    route(ROUTE, ["default/cheap", "default/strong"], "default/strong", {
      evaluation: { judge: "default/judge", sampleRate: 1, maxCostPerHourUSD: null },
    }),
  ];
  const config = routerConfig(providers, routes);
  routers = await Promise.all([startJsonRouter(config, KEYS), startJsonRouter(config, KEYS)]);
  const p = await startPrometheus({
    targets: routers.map((r) => ({
      job: JOB,
      address: new URL(r.router.metricsUrl).host,
      labels: { namespace: NAMESPACE },
    })),
    ruleFiles: [join(packageRoot(), RULES_PATH)],
  });
  prom = p;
  // The routers create the sample counters at zero when the config loads; traffic starts once Prometheus has them,
  // so increase() counts every sample.
  await p.waitFor("the zeroed sample counters of both routers", async () => {
    const series = await p.query(`routewise_evaluation_samples_total{job="${JOB}",route="${ROUTE}"}`);
    return new Set(series.map((s) => s.metric["instance"])).size === 2;
  });
  await Promise.all(
    routers.map(async (r, i) => {
      const [good, weak] = TRAFFIC[i] ?? [0, 0];
      const prompts = [...Array.from({ length: good }, () => "good"), ...Array.from({ length: weak }, () => "weak")];
      for (const [k, kind] of prompts.entries())
        await r.client.chat.completions.create({ model: ROUTE, messages: [{ role: "user", content: `${kind} ${k}` }] });
    }),
  );
  await waitFor(
    async () => {
      const counts = await Promise.all(
        routers.map((r) => metricValue(r.router, "routewise_evaluation_samples_total", { route: ROUTE })),
      );
      return counts.every((c, i) => c === (TRAFFIC[i]?.[0] ?? 0) + (TRAFFIC[i]?.[1] ?? 0));
    },
    30_000,
    { description: "every request's evaluation recorded on its router" },
  );
}, 90_000);

afterAll(async () => {
  await prom?.stop();
  await Promise.all(routers.map((r) => r.stop()));
  await Promise.all(mocks.map((m) => m.close()));
});

async function rule(name: string): Promise<number | undefined> {
  const samples = await prom!.query(`${name}{namespace="${NAMESPACE}",route="${ROUTE}"}`);
  const v = samples[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

describe("observability: measured retention from two real routers and the mock judge", () => {
  it("gives the retention the judge's scores imply within 0.01, with the lower bound below it", async () => {
    const expected = implied();
    let last: { ratio: number | undefined; bound: number | undefined; samples: number | undefined } = {
      ratio: undefined,
      bound: undefined,
      samples: undefined,
    };
    await prom!.waitFor(
      `routewise:measured_retention:ratio1h ≈ ${expected.ratio.toFixed(4)}`,
      async () => {
        last = {
          ratio: await rule("routewise:measured_retention:ratio1h"),
          bound: await rule("routewise:measured_retention_lower_bound:ratio1h"),
          samples: await rule("routewise:evaluation_samples:increase1h"),
        };
        return (
          last.ratio !== undefined &&
          Math.abs(last.ratio - expected.ratio) <= 0.01 &&
          last.samples !== undefined &&
          last.samples >= expected.n
        );
      },
      30_000,
    );
    expect(last.bound).toBeDefined();
    expect(last.bound!).toBeLessThan(last.ratio!);
    expect(last.bound!).toBeGreaterThan(0);
    // increase() extrapolates each replica's sums by its own factor, so the bound is close, not exact.
    expect(Math.abs(last.bound! - expected.bound)).toBeLessThan(0.03);
  });

  it("exports the route's objective from both routers for the alert to compare against", async () => {
    const series = await prom!.query(`routewise_route_objective_retention{namespace="${NAMESPACE}",route="${ROUTE}"}`);
    expect(series.map((s) => Number(s.value[1]))).toEqual([0.5, 0.5]);
  });
});
