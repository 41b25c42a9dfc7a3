import { describe, expect, it } from "vitest";
import type { SecretRef } from "../compile/secret-refs.js";
import { SecretValues, type HeldSecret, type SecretReadResult } from "./secret-values.js";

/** An API server's Secrets by namespace/name, each with a resourceVersion and a value; counts reads by name. */
class FakeSecrets {
  readonly stored = new Map<string, { resourceVersion: string; value: string }>();
  readonly reads: string[] = [];
  failing = new Set<string>();

  put(key: string, resourceVersion: string, value: string): void {
    this.stored.set(key, { resourceVersion, value });
  }

  /** The metadata cache's view: resourceVersion by key. */
  versions(): Map<string, string> {
    return new Map([...this.stored].map(([k, s]) => [k, s.resourceVersion]));
  }

  read = (ref: SecretRef): Promise<HeldSecret | null> => {
    const key = `${ref.namespace}/${ref.name}`;
    this.reads.push(key);
    if (this.failing.has(key)) return Promise.reject(new Error("HTTP 500"));
    const s = this.stored.get(key);
    if (!s) return Promise.resolve(null);
    const data = { apiKey: Buffer.from(s.value).toString("base64") };
    return Promise.resolve({ metadata: { ...ref, resourceVersion: s.resourceVersion }, data });
  };
}

const A = { namespace: "team-a", name: "a" };
const B = { namespace: "team-a", name: "b" };

function setup() {
  const api = new FakeSecrets();
  const results: SecretReadResult[] = [];
  const values = new SecretValues({ read: api.read, onRead: (r) => results.push(r) });
  return { api, values, results };
}

describe("SecretValues", () => {
  it("reads only the referenced Secrets, however many others exist", async () => {
    const { api, values } = setup();
    api.put("team-a/a", "1", "sk-a");
    api.put("team-a/other", "1", "sk-other");
    const held = await values.resolve([A], api.versions());
    expect(held.map((s) => s.metadata.name)).toEqual(["a"]);
    expect(api.reads).toEqual(["team-a/a"]);
    expect(values.entries()).toEqual([{ namespace: "team-a", name: "a", resourceVersion: "1" }]);
  });

  it("does not read a Secret again while its resourceVersion is unchanged", async () => {
    const { api, values } = setup();
    api.put("team-a/a", "1", "sk-a");
    await values.resolve([A], api.versions());
    await values.resolve([A], api.versions());
    expect(api.reads).toEqual(["team-a/a"]);
  });

  it("reads a Secret again when its resourceVersion changed, and returns the new value", async () => {
    const { api, values } = setup();
    api.put("team-a/a", "1", "sk-a");
    await values.resolve([A], api.versions());
    api.put("team-a/a", "2", "sk-a-rotated");
    const [held] = await values.resolve([A], api.versions());
    expect(Buffer.from(held?.data["apiKey"] ?? "", "base64").toString()).toBe("sk-a-rotated");
    expect(api.reads).toEqual(["team-a/a", "team-a/a"]);
  });

  it("does not read a referenced Secret the metadata cache does not have, and reads it once it appears", async () => {
    const { api, values } = setup();
    expect(await values.resolve([A], api.versions())).toEqual([]);
    expect(api.reads).toEqual([]);
    api.put("team-a/a", "5", "sk-a");
    expect(await values.resolve([A], api.versions())).toHaveLength(1);
    expect(api.reads).toEqual(["team-a/a"]);
  });

  it("forgets a Secret's value once nothing references it or it is deleted", async () => {
    const { api, values } = setup();
    api.put("team-a/a", "1", "sk-a");
    api.put("team-a/b", "1", "sk-b");
    await values.resolve([A, B], api.versions());
    await values.resolve([B], api.versions());
    expect(values.entries().map((e) => e.name)).toEqual(["b"]);
    api.stored.delete("team-a/b");
    expect(await values.resolve([B], api.versions())).toEqual([]);
    expect(values.entries()).toEqual([]);
  });

  it("treats a Secret deleted between the watch event and the read as not found", async () => {
    const { values, results } = setup();
    const versions = new Map([["team-a/a", "1"]]);
    expect(await values.resolve([A], versions)).toEqual([]);
    expect(results).toEqual(["not_found"]);
  });

  it("rejects when a read fails, keeping what the other reads returned", async () => {
    const { api, values, results } = setup();
    api.put("team-a/a", "1", "sk-a");
    api.put("team-a/b", "1", "sk-b");
    api.failing.add("team-a/b");
    await expect(values.resolve([A, B], api.versions())).rejects.toThrow("Failed to read Secret team-a/b");
    expect(values.entries().map((e) => e.name)).toEqual(["a"]);
    expect(results.sort()).toEqual(["error", "success"]);
  });
});
