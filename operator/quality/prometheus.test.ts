import { describe, expect, it } from "vitest";
import { parseQueryResponse, PrometheusClient, PrometheusError, type FetchLike } from "./prometheus.js";

const vector = (result: unknown[]) => ({ status: "success", data: { resultType: "vector", result } });

describe("parseQueryResponse", () => {
  it("reads an instant vector's labels and values, NaN included", () => {
    const samples = parseQueryResponse(
      vector([
        { metric: { route: "a" }, value: [1, "0.91"] },
        { metric: { route: "b" }, value: [1, "NaN"] },
      ]),
    );
    expect(samples[0]).toEqual({ labels: { route: "a" }, value: 0.91 });
    expect(Number.isNaN(samples[1]?.value)).toBe(true);
  });

  it("throws a PrometheusError with Prometheus' message for an error response", () => {
    expect(() => parseQueryResponse({ status: "error", error: "parse error at char 3" })).toThrow(
      /query failed: parse error at char 3/,
    );
  });

  it("throws for a response that is not an instant vector", () => {
    expect(() => parseQueryResponse({ status: "success", data: { resultType: "matrix", result: [] } })).toThrow(
      PrometheusError,
    );
    expect(() => parseQueryResponse("<html>")).toThrow(PrometheusError);
  });
});

/** The error a promise rejects with (fails the test when it resolves). */
function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error("resolved");
    },
    (e: unknown) => e as Error,
  );
}

describe("PrometheusClient", () => {
  it("calls /api/v1/query with the expression URL-encoded, under the base URL's path", async () => {
    const urls: string[] = [];
    const fetch: FetchLike = (url) => {
      urls.push(url);
      return Promise.resolve({ ok: true, status: 200, json: () => Promise.resolve(vector([])) });
    };
    await new PrometheusClient({ url: "http://prom:9090/prefix/", fetch, timeoutMs: 1000 }).query('up{job="x"}');
    expect(urls).toEqual(["http://prom:9090/prefix/api/v1/query?query=up%7Bjob%3D%22x%22%7D"]);
  });

  it("redacts the URL's credentials from a connection error", async () => {
    const fetch: FetchLike = () =>
      Promise.reject(
        new TypeError("fetch failed", { cause: new Error("connect to http://admin:hunter2@prom failed") }),
      );
    const client = new PrometheusClient({ url: "http://admin:hunter2@prom:9090", fetch, timeoutMs: 1000 });
    const err = await rejection(client.query("up"));
    expect(err).toBeInstanceOf(PrometheusError);
    expect(err.message).toContain("fetch failed");
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("admin");
  });

  it("says timed out when the request is aborted by its timeout", async () => {
    const fetch: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) =>
        init.signal.addEventListener("abort", () => reject(init.signal.reason as Error)),
      );
    const err = await rejection(new PrometheusClient({ url: "http://prom", fetch, timeoutMs: 20 }).query("up"));
    expect(err.message).toBe("query failed: timed out");
  });

  it("reports the HTTP status of a non-JSON error response", async () => {
    const fetch: FetchLike = () =>
      Promise.resolve({ ok: false, status: 502, json: () => Promise.reject(new Error("x")) });
    await expect(new PrometheusClient({ url: "http://prom", fetch, timeoutMs: 1000 }).query("up")).rejects.toThrow(
      "query failed: HTTP 502",
    );
  });
});
