/**
 * Budget periods are calendar periods in UTC (router/config BudgetPeriod): a day from 00:00, a week from Monday
 * 00:00, a month from the 1st. Every replica computes the same period from its clock, so they share one counter.
 */
import type { BudgetPeriod } from "../config/types.js";

const DAY = 86_400_000;

export interface Period {
  /** Start of the period, ms since the epoch (inclusive). */
  start: number;
  /** Start of the next period (exclusive end). */
  end: number;
  /** The start as YYYY-MM-DD: the period's name in store keys. */
  label: string;
}

export function currentPeriod(period: BudgetPeriod, now: number): Period {
  const start = periodStart(period, now);
  return { start, end: periodEnd(period, start), label: new Date(start).toISOString().slice(0, 10) };
}

function periodStart(period: BudgetPeriod, now: number): number {
  const day = Math.floor(now / DAY) * DAY;
  if (period === "day") return day;
  if (period === "week") {
    // getUTCDay: 0 = Sunday; a week starts on Monday.
    const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
    return day - sinceMonday * DAY;
  }
  const d = new Date(day);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function periodEnd(period: BudgetPeriod, start: number): number {
  if (period === "day") return start + DAY;
  if (period === "week") return start + 7 * DAY;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
