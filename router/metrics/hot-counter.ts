/**
 * A prom-client Counter for the request path. prom-client builds a hash string of the label names and values and
 * checks every label on each inc() (~0.3 KB of garbage per call, nine calls per request); here a label set's first
 * increment goes through prom-client as before (creating the series, checking the labels, throwing as it would),
 * and later ones add to a number found by walking one Map per label, so nothing is allocated. prom-client gets the
 * sums whenever the counter is read (`collect`, run by every scrape, by `get()` and by the cluster aggregator's
 * per-worker read), so a read sees every increment made before it.
 */
import { Counter, type CounterConfiguration, type LabelValues } from "prom-client";

/** One label set's increments not yet handed to prom-client. */
interface Cell<T extends string> {
  labels: LabelValues<T>;
  pending: number;
}

/** The key under which a Map holds the cell of the label values that led to it. */
const CELL = Symbol("cell");

type Level<T extends string> = Map<unknown, Level<T> | Cell<T>>;

export class HotCounter<T extends string> extends Counter<T> {
  private root: Level<T> = new Map();
  private cells: Cell<T>[] = [];
  private readonly names: readonly T[];
  private readonly direct: (labels: LabelValues<T>, value?: number) => void;

  constructor(config: CounterConfiguration<T>) {
    // prom-client's inc records an exemplar per call; the sums handed over in collect would carry none.
    if (config.enableExemplars === true) throw new Error(`HotCounter ${config.name}: exemplars are not supported`);
    const { collect } = config;
    super({
      ...config,
      collect(this: Counter<T>) {
        (this as HotCounter<T>).flush();
        return collect?.call(this);
      },
    });
    this.names = config.labelNames ?? [];
    this.direct = this.inc.bind(this);
    this.inc = this.hotInc.bind(this) as Counter<T>["inc"];
  }

  override reset(): void {
    this.root = new Map();
    this.cells = [];
    super.reset();
  }

  /** Removes a series as prom-client does; the cells start over, so the next increment re-creates it. */
  override remove(...args: [LabelValues<T>] | string[]): void {
    this.flush();
    this.root = new Map();
    this.cells = [];
    (super.remove as (...a: [LabelValues<T>] | string[]) => void)(...args);
  }

  /** Hands every pending sum to prom-client. */
  flush(): void {
    for (const cell of this.cells) {
      if (cell.pending === 0) continue;
      const by = cell.pending;
      cell.pending = 0;
      this.direct(cell.labels, by);
    }
  }

  private hotInc(labels?: LabelValues<T> | number, value?: number): void {
    // No labels, or a value prom-client refuses (negative, not finite): prom-client's own path, errors included.
    if (typeof labels !== "object" || (value !== undefined && !(Number.isFinite(value) && value >= 0))) {
      (this.direct as (labels?: LabelValues<T> | number, value?: number) => void)(labels, value);
      return;
    }
    let level = this.root;
    for (const name of this.names) {
      const v = labels[name];
      let next = level.get(v) as Level<T> | undefined;
      if (next === undefined) level.set(v, (next = new Map()));
      level = next;
    }
    const cell = level.get(CELL) as Cell<T> | undefined;
    if (cell !== undefined) {
      cell.pending += value ?? 1;
      return;
    }
    this.direct(labels, value); // the first increment: prom-client creates the series (and checks the labels)
    const created = { labels: { ...labels }, pending: 0 };
    level.set(CELL, created);
    this.cells.push(created);
  }
}
