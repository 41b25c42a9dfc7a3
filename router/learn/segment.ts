/**
 * Segments (ADR 12): what the learner estimates quality for. A segment is bounded and explainable:
 *
 *   tag × task × difficulty bucket
 *
 * - tag: the request's `metadata.tag` (or the `x-routewise-tag` header) when the route declares it in
 *   `learning.tags`; else `rule:<name>` of the first matching rule; else "-". Undeclared tags never become labels,
 *   so a route has at most (tags + rules + 1) × 8 tasks × 4 buckets segments.
 * - task: the analyzer's task.
 * - difficulty bucket: the effective difficulty (the one selection predicts with, raised for unsure
 *   classifications) cut at 0.25, 0.5 and 0.75 into d0 [0, 0.25), d1 [0.25, 0.5), d2 [0.5, 0.75), d3 [0.75, 1].
 *
 * Key: `<tag>|<task>|d<bucket>`, e.g. `support|qa|d1`, `rule:code|code|d3`, `-|chat|d0`.
 */
import type { ProviderConfig, RouteConfig, Task } from "../config/types.js";
import { TASKS } from "../config/types.js";
import { predictQuality } from "../select/quality.js";

export const DIFFICULTY_EDGES = [0.25, 0.5, 0.75] as const;
export const DIFFICULTY_BUCKETS = 4;
/** Each bucket's midpoint: where the declared-score prior of a segment is evaluated. */
export const BUCKET_MIDPOINTS = [0.125, 0.375, 0.625, 0.875] as const;
export const TAG_METADATA_KEY = "tag";
export const TAG_HEADER = "x-routewise-tag";
/** The tag of a request with no declared tag and no matching rule. */
export const NO_TAG = "-";

export type DifficultyBucket = 0 | 1 | 2 | 3;

export interface Segment {
  tag: string;
  task: Task;
  bucket: DifficultyBucket;
}

/** What segmenting needs of a request (router/select's RequestFeatures satisfies it). */
export interface TaggedRequest {
  header(name: string): string | undefined;
  metadata: Record<string, unknown>;
}

export function difficultyBucket(difficulty: number): DifficultyBucket {
  const i = DIFFICULTY_EDGES.findIndex((edge) => difficulty < edge);
  return (i === -1 ? DIFFICULTY_EDGES.length : i) as DifficultyBucket;
}

/** The tag the app sent (metadata.tag first, then the header), trimmed; undefined when none. */
export function requestTag(request: TaggedRequest): string | undefined {
  const fromMetadata = request.metadata[TAG_METADATA_KEY];
  const raw = typeof fromMetadata === "string" ? fromMetadata : request.header(TAG_HEADER);
  const tag = raw?.trim();
  return tag === undefined || tag === "" ? undefined : tag;
}

/** The bounded tag: a declared one, else the matched rule, else "-". */
export function segmentTag(
  route: Pick<RouteConfig, "learning">,
  request: TaggedRequest,
  matchedRule: string | null,
): string {
  const tag = requestTag(request);
  if (tag !== undefined && (route.learning?.tags ?? []).includes(tag)) return tag;
  return matchedRule === null ? NO_TAG : `rule:${matchedRule}`;
}

export function segmentOf(
  route: Pick<RouteConfig, "learning">,
  request: TaggedRequest,
  c: { task: Task; difficulty: number },
  matchedRule: string | null,
): Segment {
  return { tag: segmentTag(route, request, matchedRule), task: c.task, bucket: difficultyBucket(c.difficulty) };
}

export function segmentKey(s: Segment): string {
  return `${s.tag}|${s.task}|d${s.bucket}`;
}

/** The inverse of segmentKey, or null for a malformed key. */
export function parseSegmentKey(key: string): Segment | null {
  const m = /^(.+)\|([a-z]+)\|d([0-3])$/.exec(key);
  if (!m) return null;
  const [, tag, task, bucket] = m as unknown as [string, string, string, string];
  if (!(TASKS as readonly string[]).includes(task)) return null;
  return { tag, task: task as Task, bucket: Number(bucket) as DifficultyBucket };
}

/**
 * The declared-score prediction of a provider's retention in a bucket: predicted quality relative to the
 * baseline's (router/select/quality.ts) at the bucket's midpoint, from the overall declared scores.
 */
export function declaredRetention(
  provider: ProviderConfig,
  baseline: ProviderConfig,
  bucket: DifficultyBucket,
): number {
  const d = BUCKET_MIDPOINTS[bucket];
  return predictQuality(provider.quality.score, d) / predictQuality(baseline.quality.score, d);
}
