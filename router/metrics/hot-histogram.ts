/**
 * A prom-client Histogram for the request path, as HotCounter is for counters. prom-client's observe() checks
 * every label and builds a hash string of the label set on each call (five observations per request); here a label
 * set's first observation goes through prom-client as before (creating the series, checking the labels, throwing
 * as it would), and later ones find that series' values by walking one Map per label and add to them in place, so
 * nothing is allocated. Nothing is pending: every read (scrape, `get()`, the cluster aggregator) sees every
 * observation made before it.
 *
 * It writes into prom-client's own per-series values (`hashMap` entries: labels, bucketValues, sum, count; the same
 * shape in prom-client 14 and 15). hot-histogram.test.ts compares /metrics with prom-client's Histogram byte for
 * byte after the same observations, so an upgrade that changes the shape fails there.
 */
import { Histogram, type HistogramConfiguration, type LabelValues } from "prom-client";

/** One series' values, as prom-client keeps them. */
interface Series {
  labels: Record<string, string | number | undefined>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** What of prom-client's Histogram this class reads. */
interface Internals {
  hashMap: Record<string, Series>;
  upperBounds: readonly number[];
}

/** The key under which a Map holds the series of the label values that led to it. */
const SERIES = Symbol("series");

type Level = Map<unknown, Level | Series>;

export class HotHistogram<T extends string> extends Histogram<T> {
  private root: Level = new Map();
  private boundKeys: string[] | null = null;
  private readonly names: readonly T[];
  private readonly direct: (labels: LabelValues<T>, value: number) => void;

  constructor(config: HistogramConfiguration<T>) {
    // With exemplars prom-client's observe takes one object argument; the in-place path would record none.
    if (config.enableExemplars === true) throw new Error(`HotHistogram ${config.name}: exemplars are not supported`);
    super(config);
    this.names = config.labelNames ?? [];
    this.direct = this.observe.bind(this);
    this.observe = this.hotObserve.bind(this) as Histogram<T>["observe"];
  }

  override reset(): void {
    this.root = new Map();
    super.reset();
  }

  /** Removes a series as prom-client does; the walk starts over, so the next observation re-creates it. */
  override remove(...args: [LabelValues<T>] | string[]): void {
    this.root = new Map();
    (super.remove as (...a: [LabelValues<T>] | string[]) => void)(...args);
  }

  /** prom-client replaces the series' values with zeroes: the walk must find the new ones. */
  override zero(labels: LabelValues<T>): void {
    this.root = new Map();
    super.zero(labels);
  }

  private hotObserve(labels?: LabelValues<T> | number, value?: number): void {
    // No labels, or a value prom-client refuses: prom-client's own path, errors included.
    if (typeof labels !== "object" || typeof value !== "number" || !Number.isFinite(value)) {
      (this.direct as (labels?: LabelValues<T> | number, value?: number) => void)(labels, value);
      return;
    }
    const level = this.levelOf(labels);
    const series = level.get(SERIES) as Series | undefined;
    if (series === undefined) {
      this.direct(labels, value); // the first observation: prom-client creates the series (and checks the labels)
      const created = this.seriesOf(labels);
      if (created !== undefined) level.set(SERIES, created);
      return;
    }
    series.sum += value;
    series.count += 1;
    // A loop, not find(): no closure per observation. The bucket's key as a string made once: indexing
    // bucketValues with a fractional number converts it to a string on every observation (~10x slower).
    const bounds = (this as unknown as Internals).upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value > (bounds[i] as number)) continue;
      const key = this.keyOf(i);
      series.bucketValues[key] = (series.bucketValues[key] ?? 0) + 1;
      break;
    }
  }

  /** bucketValues' key of upper bound i (prom-client keys it by the bound's string form). */
  private keyOf(i: number): string {
    this.boundKeys ??= (this as unknown as Internals).upperBounds.map(String);
    return this.boundKeys[i] as string;
  }

  /** The Map these label values lead to (made on the way when new). */
  private levelOf(labels: LabelValues<T>): Level {
    let level = this.root;
    for (const name of this.names) {
      const v = labels[name];
      let next = level.get(v) as Level | undefined;
      if (next === undefined) level.set(v, (next = new Map()));
      level = next;
    }
    return level;
  }

  /** The series prom-client keeps for these label values (compared as strings, as its hash compares them). */
  private seriesOf(labels: LabelValues<T>): Series | undefined {
    const all = Object.values((this as unknown as Internals).hashMap);
    return (
      all.find((s) => s.labels === labels) ??
      all.find((s) => this.names.every((n) => String(s.labels[n]) === String(labels[n])))
    );
  }
}
