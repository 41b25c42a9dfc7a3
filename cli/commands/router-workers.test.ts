import { describe, expect, it } from "vitest";
import { cgroupCpuLimit, resolveWorkers } from "./router-workers.js";

const files =
  (content: Record<string, string>) =>
  (path: string): string | null =>
    content[path] ?? null;

describe("cgroupCpuLimit", () => {
  it("rounds a cgroup v2 cpu.max quota up to whole CPUs when the container has a CPU limit", () => {
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "150000 100000\n" }))).toBe(2);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "50000 100000\n" }))).toBe(1);
  });

  it("returns null when cgroup v2 says max (no limit)", () => {
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }))).toBeNull();
  });

  it("reads cgroup v1's CFS quota and period when there is no cpu.max", () => {
    const v1 = {
      "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "400000\n",
      "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
    };
    expect(cgroupCpuLimit(files(v1))).toBe(4);
    const unlimited = { ...v1, "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n" };
    expect(cgroupCpuLimit(files(unlimited))).toBeNull();
  });

  it("returns null when no cgroup file is readable", () => {
    expect(cgroupCpuLimit(files({}))).toBeNull();
  });
});

describe("resolveWorkers", () => {
  const detect = (limit: number | null, parallelism: number) => ({
    limit: () => limit,
    parallelism: () => parallelism,
  });

  it("uses the CPU limit for auto when there is one, never more than the CPUs there are", () => {
    expect(resolveWorkers("auto", detect(2, 8))).toBe(2);
    expect(resolveWorkers("auto", detect(16, 4))).toBe(4);
  });

  it("uses the available parallelism for auto without a CPU limit", () => {
    expect(resolveWorkers("auto", detect(null, 3))).toBe(3);
  });

  it("takes a whole number as given and refuses anything else", () => {
    expect(resolveWorkers("1", detect(4, 4))).toBe(1);
    expect(resolveWorkers("6", detect(4, 4))).toBe(6);
    for (const bad of ["0", "-2", "1.5", "two", ""])
      expect(() => resolveWorkers(bad, detect(4, 4))).toThrow(/--workers/);
  });
});
