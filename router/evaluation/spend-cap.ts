/**
 * The hourly evaluation spend cap per route on this replica (ADR 10): spend is summed per clock hour (UTC); once a
 * route's spend in the current hour reaches its `maxCostPerHourUSD`, sampling pauses until the next hour. Calls of
 * evaluations already running when the cap is reached are still added (the cap can be overshot by those).
 */
export const HOUR_MS = 3_600_000;

export class SpendCap {
  private readonly spend = new Map<string, { hour: number; usd: number }>();

  /** USD spent by the route in the clock hour of `nowMs`. */
  spent(route: string, nowMs: number): number {
    const s = this.spend.get(route);
    return s !== undefined && s.hour === hourOf(nowMs) ? s.usd : 0;
  }

  add(route: string, nowMs: number, usd: number): void {
    this.spend.set(route, { hour: hourOf(nowMs), usd: this.spent(route, nowMs) + usd });
  }

  /** Whether sampling is paused for the route: a cap is set and reached this hour. */
  paused(route: string, nowMs: number, capUSD: number | null): boolean {
    return capUSD !== null && this.spent(route, nowMs) >= capUSD;
  }

  /** Forgets routes no longer configured. */
  retain(routes: ReadonlySet<string>): void {
    for (const route of this.spend.keys()) if (!routes.has(route)) this.spend.delete(route);
  }
}

function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}
