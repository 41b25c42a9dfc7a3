import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HotHistogram } from "./hot-histogram.js";

const config = (registry: Registry) => ({
  name: "x_seconds",
  help: "h",
  labelNames: ["route", "outcome"] as const,
  buckets: [0.01, 0.1, 1],
  registers: [registry],
});

/** The same observations on a HotHistogram and on prom-client's Histogram: /metrics must read the same. */
function both(steps: (h: Histogram<"route" | "outcome">) => void) {
  const hot = new Registry();
  const plain = new Registry();
  steps(new HotHistogram(config(hot)));
  steps(new Histogram(config(plain)));
  return Promise.all([hot.metrics(), plain.metrics()]);
}

describe("HotHistogram", () => {
  it("reads exactly as prom-client's Histogram after the same observations, past the last bucket included", async () => {
    const [hot, plain] = await both((h) => {
      for (let i = 0; i < 100; i++) {
        h.observe({ route: "a", outcome: "success" }, i * 0.013);
        h.observe({ outcome: "error", route: "a" }, 0.1); // on a bound: counted in that bucket
        h.observe({ route: "b", outcome: "success" }, 7); // above every bound: +Inf, sum and count only
      }
      h.labels("c", "success").observe(0.5);
      h.labels({ route: "c", outcome: "success" }).observe(0.05);
    });
    expect(hot).toBe(plain);
    expect(hot).toContain('x_seconds_bucket{le="+Inf",route="b",outcome="success"} 100');
    expect(hot).toContain('x_seconds_count{route="a",outcome="success"} 100');
  });

  it("reset, remove and zero behave as prom-client's: later observations start the series again", async () => {
    const [hot, plain] = await both((h) => {
      h.observe({ route: "a", outcome: "success" }, 0.5);
      h.observe({ route: "a", outcome: "success" }, 0.5);
      h.observe({ route: "b", outcome: "success" }, 0.5);
      h.remove({ route: "a", outcome: "success" });
      h.observe({ route: "a", outcome: "success" }, 0.05);
      h.zero({ route: "b", outcome: "success" });
      h.observe({ route: "b", outcome: "success" }, 2);
      h.observe({ route: "b", outcome: "success" }, 0.001);
      h.reset();
      h.observe({ route: "c", outcome: "error" }, 0.2);
      h.observe({ route: "c", outcome: "error" }, 0.3);
    });
    expect(hot).toBe(plain);
    expect(hot).not.toContain('route="a"');
    expect(hot).toContain('x_seconds_count{route="c",outcome="error"} 2');
  });

  it("sees every observation made before a read", async () => {
    const h = new HotHistogram(config(new Registry()));
    h.observe({ route: "a", outcome: "success" }, 0.5);
    h.observe({ route: "a", outcome: "success" }, 0.25);
    const sum = async () => (await h.get()).values.find((v) => v.metricName === "x_seconds_sum")?.value;
    expect(await sum()).toBe(0.75);
    h.observe({ route: "a", outcome: "success" }, 0.25);
    expect(await sum()).toBe(1);
  });

  it("refuses what prom-client refuses, on the first observation of a series and on later ones", () => {
    const h = new HotHistogram(config(new Registry()));
    expect(() => h.observe({ route: "a", outcome: "x", extra: "y" } as never, 1)).toThrow(/label/i);
    h.observe({ route: "a", outcome: "x" }, 1);
    expect(() => h.observe({ route: "a", outcome: "x" }, Number.NaN)).toThrow(/not a valid number/);
    expect(() => new HotHistogram({ ...config(new Registry()), enableExemplars: true })).toThrow(/exemplars/);
  });
});
