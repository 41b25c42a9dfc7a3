/**
 * The system under observation: a real router (in-process, on CR YAML) in front of mock upstreams, with four
 * routes that produce every kind of signal, a stand-in operator /metrics endpoint, and traffic drivers that
 * return what the router reported per request (cost headers, trailers' usage chunk).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOperatorMetrics, type OperatorMetrics } from "../../operator/metrics.js";
import type { RouterMetrics } from "../../router/metrics/metrics.js";
import { startOpenAIMock, type MockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml, type TestRouter } from "../router/harness.js";

/** Routes: classifier-chosen, rule-pinned, always falling back, and always failing. */
export const ROUTES = ["chat", "pinned", "fallback", "down"] as const;
export type RouteName = (typeof ROUTES)[number];

const RETRY = `  retry: { attempts: 2, backoff: { base: 5ms, max: 20ms } }
  timeouts: { attempt: 2s, request: 5s }
  circuitBreaker: { consecutiveFailures: 1000, cooldown: 200ms }`;

export interface Upstreams {
  cheap: MockHandle;
  strong: MockHandle;
  broken: MockHandle;
  dead: MockHandle;
}

export async function startUpstreams(): Promise<Upstreams> {
  const [cheap, strong, broken, dead] = await Promise.all([
    startOpenAIMock({ chunks: 3 }),
    startOpenAIMock({ chunks: 3 }),
    startOpenAIMock({}),
    startOpenAIMock({}),
  ]);
  broken.setFaults({ status: 503 });
  dead.setFaults({ status: 500 });
  return { cheap, strong, broken, dead };
}

export function policy(u: Upstreams): string {
  const pinned = (first: string, second: string): string =>
    `  rules: [{ name: pin-${first}, match: {}, pin: [${first}, ${second}] }]\n`;
  return [
    providerYaml("cheap", { url: u.cheap.url, score: 60, price: [1, 2] }),
    providerYaml("strong", { url: u.strong.url, score: 90, price: [10, 30] }),
    providerYaml("broken", { url: u.broken.url, score: 80, price: [3, 6] }),
    providerYaml("dead", { url: u.dead.url, score: 70, price: [2, 4] }),
    secretYaml({ cheap: "sk-c", strong: "sk-s", broken: "sk-b", dead: "sk-d" }),
    routeYaml(
      "chat",
      `  candidates: [{ name: cheap }, { name: strong }]\n  baseline: { name: strong }\n  objective: { minQualityRetention: 0.9 }\n${RETRY}`,
    ),
    routeYaml(
      "pinned",
      `  candidates: [{ name: cheap }, { name: strong }]\n  baseline: { name: strong }\n${pinned("cheap", "strong")}${RETRY}`,
    ),
    routeYaml(
      "fallback",
      `  candidates: [{ name: broken }, { name: cheap }]\n  baseline: { name: strong }\n${pinned("broken", "cheap")}${RETRY}`,
    ),
    routeYaml(
      "down",
      `  candidates: [{ name: dead }]\n  baseline: { name: strong }\n  retry: { attempts: 1 }\n  circuitBreaker: { consecutiveFailures: 2, cooldown: 100ms }`,
    ),
  ].join("");
}

/**
 * Creates, at zero, the per-route counter series the traffic will move, as a router should on config load:
 * a series whose first scraped sample already counts requests loses them from rate()/increase().
 */
export function initialiseSeries(m: RouterMetrics): void {
  const answered: [RouteName, string][] = [
    ["chat", "cheap"],
    ["chat", "strong"],
    ["pinned", "cheap"],
    ["fallback", "cheap"],
  ];
  for (const [route, name] of answered) {
    const labels = { route, provider: `default/${name}`, model: `${name}-model`, arm: "policy" };
    m.cost.inc(labels, 0);
    m.requests.inc({ ...labels, outcome: "success" }, 0);
  }
  for (const outcome of ["upstream_error", "upstream_unavailable"]) {
    m.requests.inc({ route: "down", provider: "default/dead", model: "dead-model", outcome, arm: "policy" }, 0);
  }
  for (const route of ROUTES) m.routingDuration.zero({ route });
  for (const route of ["chat", "pinned", "fallback"]) {
    m.baselineCost.inc({ route, arm: "policy" }, 0);
    m.qualityPoints.inc({ route }, 0);
    m.baselineQualityPoints.inc({ route }, 0);
  }
}

/** What the router told the client about one answered request. */
export interface Served {
  route: string;
  model: string;
  cost: number;
  baseline: number;
}

export interface SendOptions {
  stream?: boolean;
  user?: string;
  metadata?: Record<string, string>;
  requestId?: string;
}

/** One chat completion over plain fetch; null when the router answered with an error. */
export async function send(t: TestRouter, model: string, prompt: string, o: SendOptions = {}): Promise<Served | null> {
  const res = await fetch(`${t.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(o.requestId ? { "x-request-id": o.requestId } : {}) },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: prompt }],
      ...(o.user === undefined ? {} : { user: o.user }),
      ...(o.metadata === undefined ? {} : { metadata: o.metadata, store: true }),
      ...(o.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  });
  const text = await res.text();
  if (!res.ok) return null;
  const route = res.headers.get("x-routewise-route") ?? "";
  const served = res.headers.get("x-routewise-model") ?? "";
  if (!o.stream) {
    return {
      route,
      model: served,
      cost: Number(res.headers.get("x-routewise-cost-usd")),
      baseline: Number(res.headers.get("x-routewise-baseline-cost-usd")),
    };
  }
  const summary = streamSummary(text);
  return { route, model: served, cost: summary.cost_usd, baseline: summary.baseline_cost_usd };
}

/** The x_routewise object of the usage chunk a streamed answer ends with. */
function streamSummary(sse: string): { cost_usd: number; baseline_cost_usd: number } {
  for (const line of sse.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    const event = JSON.parse(line.slice(6)) as { x_routewise?: { cost_usd: number; baseline_cost_usd: number } };
    if (event.x_routewise) return event.x_routewise;
  }
  throw new Error(`no x_routewise usage chunk in the stream: ${sse.slice(0, 500)}`);
}

const EASY = "hi, what is the capital of France?";
const HARD =
  "Prove that the sum of the reciprocals of the primes diverges, then implement a segmented sieve in Rust with " +
  "SIMD, analyse its cache behaviour and complexity, and compare it with the Sieve of Atkin in a table.";

/** One round of mixed traffic: both difficulty levels, streaming and not, every route. Returns answered requests. */
export async function mixedRound(t: TestRouter): Promise<{ served: Served[]; failed: number }> {
  const calls: Promise<Served | null>[] = [
    send(t, "chat", EASY),
    send(t, "chat", HARD),
    send(t, "chat", EASY, { stream: true }),
    send(t, "chat", HARD, { stream: true }),
    send(t, "pinned", EASY),
    send(t, "pinned", HARD, { stream: true }),
    send(t, "fallback", EASY),
    send(t, "down", EASY),
    send(t, "down", HARD),
  ];
  const results = await Promise.all(calls);
  const served = results.filter((r): r is Served => r !== null);
  return { served, failed: results.length - served.length };
}

/** A stand-in for the operator's /metrics (its real metric definitions), after one successful reconcile. */
export interface FakeOperator {
  address: string;
  metrics: OperatorMetrics;
  close(): Promise<void>;
}

export async function startFakeOperator(): Promise<FakeOperator> {
  const metrics = createOperatorMetrics();
  metrics.reconciles.inc({ result: "success" });
  metrics.lastSuccess.set(Date.now() / 1000);
  const server: Server = createServer((_req, res) => {
    void metrics.registry.metrics().then((text) => {
      res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    metrics,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
