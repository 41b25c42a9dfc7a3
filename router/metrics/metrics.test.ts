import { describe, expect, it } from "vitest";
import { createRouterMetrics } from "./metrics.js";

describe("router metrics", () => {
  it("names the Node.js process metrics routewise_process_* and routewise_nodejs_*, never with a doubled prefix", async () => {
    const { registry } = createRouterMetrics();
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).toContain("routewise_process_cpu_seconds_total");
    expect(names).toContain("routewise_nodejs_eventloop_lag_seconds");
    expect(names.filter((n) => /process_process|nodejs_nodejs/.test(n))).toEqual([]);
    expect(names.filter((n) => !n.startsWith("routewise_") && !n.startsWith("gen_ai_"))).toEqual([]);
  });
});
