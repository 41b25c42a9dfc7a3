/**
 * One read of the learning routes' evidence (learning.ts): the ranges query, then the evidence queries of each
 * range in use (routes sharing a range share its queries), in parallel. Rejects with the first failed query.
 */
import type { PrometheusClient, VectorSample } from "./prometheus.js";
import {
  evidenceFrom,
  evidenceQueries,
  rangeFor,
  rangesQuery,
  type EvidenceSamples,
  type LearningMetric,
  type LearningRange,
  type LearningReading,
  type LearningTarget,
} from "./learning.js";

export async function readLearning(
  client: PrometheusClient,
  targets: readonly LearningTarget[],
): Promise<Map<string, LearningReading>> {
  const out = new Map<string, LearningReading>();
  if (targets.length === 0) return out;
  const counts = await client.query(rangesQuery(targets.map((t) => t.route)));
  const byRange = new Map<LearningRange, LearningTarget[]>();
  for (const t of targets) {
    const range = rangeFor(counts, t);
    byRange.set(range, [...(byRange.get(range) ?? []), t]);
  }
  await Promise.all(
    [...byRange].map(async ([range, group]) => {
      const samples = await querySamples(
        client,
        evidenceQueries(
          group.map((t) => t.route),
          range,
        ),
      );
      for (const t of group) out.set(t.key, { range, evidence: evidenceFrom(samples, t) });
    }),
  );
  return out;
}

async function querySamples(
  client: PrometheusClient,
  queries: Record<LearningMetric, string>,
): Promise<EvidenceSamples> {
  const metrics = Object.keys(queries) as LearningMetric[];
  const results: VectorSample[][] = await Promise.all(metrics.map((m) => client.query(queries[m])));
  return Object.fromEntries(metrics.map((m, i) => [m, results[i] ?? []])) as EvidenceSamples;
}
