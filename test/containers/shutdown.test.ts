/**
 * `docker stop` on the router image: SIGTERM reaches the router (node is the entrypoint, PID 1), which drains the
 * request in flight, answers it, and exits 0 — long before the runtime's own deadline would SIGKILL it (exit code
 * 137). The in-flight request goes to a simulated provider that takes seconds to answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/wait.js";
import {
  addPolicy,
  client,
  exitCode,
  removeContainer,
  routeYaml,
  simulatedProviderYaml,
  startRouter,
  stopAll,
  useExamplesCopy,
  useSuitePodman,
  type RouterContainer,
} from "./routewise-containers.js";

useSuitePodman();
const policies = useExamplesCopy();

let router: RouterContainer | undefined;
let stoppedId: string | undefined;

beforeAll(async () => {
  addPolicy(
    policies,
    "slow.yaml",
    simulatedProviderYaml("slow", ["simulated: { timeToFirstToken: 5s }"]),
    routeYaml("slow", ["slow"]),
  );
  router = await startRouter({ policies, name: "shutdown" });
});

afterAll(async () => {
  if (stoppedId !== undefined) await removeContainer(stoppedId);
  else await stopAll([router]);
});

async function inflight(r: RouterContainer): Promise<number> {
  const text = await fetch(`${r.metricsUrl}/metrics`).then((r) => r.text());
  return Number(/^routewise_inflight_requests(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

describe("router container on SIGTERM", () => {
  it("finishes the request in flight, logs a clean drain and exits 0", async () => {
    if (router === undefined) throw new Error("the router container did not start");
    const r = router;
    const pending = client(r, 60_000)
      .chat.completions.create({ model: "slow", messages: [{ role: "user", content: "Take your time." }] })
      .withResponse();
    await waitFor(async () => (await inflight(r)) > 0, 30_000, { description: "the request to be in flight" });
    // A deadline far above the drain: exit code 0 (not 137) means SIGTERM alone ended it.
    const stopped = await r.container.stop({ timeout: 60_000, remove: false });
    stoppedId = stopped.getId();
    const { data, response } = await pending;
    expect(response.status).toBe(200);
    expect(response.headers.get("x-routewise-provider")).toBe("default/slow");
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(await exitCode(stoppedId)).toBe(0);
    // The log stream can deliver its last lines after stop() resolved.
    const logs = await waitFor(() => r.logs().includes("Stopped router") && r.logs(), 30_000, {
      description: "the router's last log line",
    });
    expect(logs).toContain("Draining in-flight requests before exit");
    expect(logs).not.toMatch(/Failed to stop cleanly/);
  });
});
