/**
 * What a judge sample of a learning route needs from its request's decision (ADR 12): the segment, the routed
 * provider and its propensity, every candidate's predicted retention and the answer's cost at its prices. The
 * request record writes it when a judge-sampled request of a learning route is answered; the evaluation record
 * takes it by request id when the sample's scores arrive (after the response, off the request path), so the
 * request path hands the evaluator nothing new.
 *
 * Bounded: at most `capacity` waiting entries, the oldest dropped first (a sample whose entry was dropped is
 * recorded without a segment, as on a route that does not learn). Entries are taken when the sample ends, or
 * forgotten when the evaluator skips the request.
 */
import type { LabelContext } from "../learn/label.js";

/** Sampled requests waiting for their scores at most: the evaluator's queue (256) and workers, with room. */
export const DEFAULT_LEDGER_CAPACITY = 2048;

export class LearningLedger {
  private readonly entries = new Map<string, LabelContext>();

  constructor(private readonly capacity = DEFAULT_LEDGER_CAPACITY) {}

  remember(requestId: string, context: LabelContext): void {
    this.entries.delete(requestId);
    this.entries.set(requestId, context);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** The request's context, removed; undefined when none was written (or it was dropped). */
  take(requestId: string): LabelContext | undefined {
    const c = this.entries.get(requestId);
    this.entries.delete(requestId);
    return c;
  }

  get size(): number {
    return this.entries.size;
  }
}
