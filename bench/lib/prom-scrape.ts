/**
 * Reads a process's Prometheus text exposition: counter sums and histogram buckets (summed over label sets), the
 * difference of two scrapes, and quantiles interpolated linearly within a bucket (as PromQL's histogram_quantile).
 */

/** Cumulative bucket counts by upper bound (Infinity for +Inf), ascending. */
export interface Histogram {
  buckets: { le: number; count: number }[];
  count: number;
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET :${port}/metrics: HTTP ${res.status}`);
  return res.text();
}

/** Each sample line of `name` (exactly, with or without labels): its labels text and value. */
function samples(text: string, name: string): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const m = /^(\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (!m?.[2]) continue;
    out.push({ labels: m[1] ?? "", value: Number(m[2]) });
  }
  return out;
}

/** The sum of every series of a counter or gauge (0 when absent). */
export function sumOf(text: string, name: string): number {
  return samples(text, name).reduce((a, s) => a + s.value, 0);
}

/** A histogram's buckets summed over all its label sets. */
export function histogramOf(text: string, name: string): Histogram {
  const byLe = new Map<number, number>();
  for (const s of samples(text, `${name}_bucket`)) {
    const le = /le="([^"]+)"/.exec(s.labels)?.[1];
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + s.value);
  }
  const buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  return { buckets, count: buckets.at(-1)?.count ?? 0 };
}

/** after − before, bucket by bucket (the observations made between the two scrapes). */
export function diff(after: Histogram, before: Histogram): Histogram {
  const prior = new Map(before.buckets.map((b) => [b.le, b.count]));
  const buckets = after.buckets.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) }));
  return { buckets, count: buckets.at(-1)?.count ?? 0 };
}

/** a + b, bucket by bucket (same bucket layout). */
export function add(a: Histogram, b: Histogram): Histogram {
  if (a.buckets.length === 0) return b;
  const other = new Map(b.buckets.map((x) => [x.le, x.count]));
  const buckets = a.buckets.map((x) => ({ le: x.le, count: x.count + (other.get(x.le) ?? 0) }));
  return { buckets, count: buckets.at(-1)?.count ?? 0 };
}

/** The q-quantile (0..1), interpolated within its bucket; the largest finite bound if it falls in +Inf. */
export function quantile(h: Histogram, q: number): number {
  if (h.count === 0) return NaN;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower;
      const inBucket = b.count - below;
      return inBucket === 0 ? b.le : lower + ((b.le - lower) * (rank - below)) / inBucket;
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}
