import { Counter, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HotCounter } from "./hot-counter.js";

const config = (registry: Registry) => ({
  name: "x_total",
  help: "h",
  labelNames: ["route", "direction"] as const,
  registers: [registry],
});

/** The same increments on a HotCounter and on prom-client's Counter: /metrics must read the same. */
function both(steps: (c: Counter<"route" | "direction">) => void) {
  const hot = new Registry();
  const plain = new Registry();
  steps(new HotCounter(config(hot)));
  steps(new Counter(config(plain)));
  return Promise.all([hot.metrics(), plain.metrics()]);
}

describe("HotCounter", () => {
  it("reads exactly as prom-client's Counter after the same increments, zero series included", async () => {
    const [hot, plain] = await both((c) => {
      for (let i = 0; i < 100; i++) {
        c.inc({ route: "a", direction: "input" }, i * 0.25);
        c.inc({ direction: "output", route: "a" }, 3);
        c.inc({ route: "b", direction: "cached_input" }, 0);
      }
      c.inc({ route: "a", direction: "input" });
      c.labels("c", "output").inc(2);
    });
    expect(hot).toBe(plain);
    expect(hot).toContain('x_total{route="b",direction="cached_input"} 0');
  });

  it("removes a series as prom-client does: pending increments go with it, later ones start it again", async () => {
    const [hot, plain] = await both((c) => {
      c.inc({ route: "a", direction: "input" }, 1);
      c.inc({ route: "a", direction: "input" }, 2); // pending in a HotCounter's cell
      c.inc({ route: "b", direction: "input" }, 5);
      c.remove({ route: "a", direction: "input" });
      c.inc({ route: "b", direction: "input" }, 1);
      c.remove("b", "input");
      c.inc({ route: "a", direction: "input" }, 4);
    });
    expect(hot).toBe(plain);
    expect(hot).toContain('x_total{route="a",direction="input"} 4');
    expect(hot).not.toContain('route="b"');
  });

  it("refuses exemplars, which its summed increments could not carry", () => {
    expect(() => new HotCounter({ ...config(new Registry()), enableExemplars: true })).toThrow(/exemplars/);
  });

  it("sees every increment made before a read, and the ones after it at the next read", async () => {
    const registry = new Registry();
    const c = new HotCounter(config(registry));
    c.inc({ route: "a", direction: "input" }, 1);
    c.inc({ route: "a", direction: "input" }, 2);
    expect((await c.get()).values.map((v) => v.value)).toEqual([3]);
    c.inc({ route: "a", direction: "input" }, 4);
    expect(await registry.metrics()).toContain('x_total{route="a",direction="input"} 7');
  });

  it("refuses what prom-client refuses, when it is called", () => {
    const c = new HotCounter(config(new Registry()));
    c.inc({ route: "a", direction: "input" }, 1);
    expect(() => c.inc({ route: "a", direction: "input" }, -1)).toThrow(/not possible to decrease/);
    expect(() => c.inc({ route: "a", direction: "input" }, Infinity)).toThrow(/not a valid number/);
    expect(() => c.inc({ route: "a", nope: "x" } as never, 1)).toThrow(/not included in initial labelset/);
  });

  it("forgets pending increments when reset", async () => {
    const c = new HotCounter(config(new Registry()));
    c.inc({ route: "a", direction: "input" }, 1);
    c.inc({ route: "a", direction: "input" }, 1);
    c.reset();
    c.inc({ route: "a", direction: "input" }, 5);
    expect((await c.get()).values.map((v) => v.value)).toEqual([5]);
  });
});
