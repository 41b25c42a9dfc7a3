/**
 * Budget periods as the contract defines them (types.ts, BudgetPeriod): calendar periods in UTC — a day from
 * 00:00, a week from Monday 00:00, a month from the 1st 00:00. Shared by the operator (status spend since the
 * period began) and the router (when a spent budget resets).
 */
import type { BudgetPeriod } from "./types.js";

const DAY_MS = 86_400_000;

/** When the period containing `now` began. */
export function periodStart(period: BudgetPeriod, now: Date): Date {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (period === "day") return new Date(day);
  if (period === "week") return new Date(day - ((now.getUTCDay() + 6) % 7) * DAY_MS);
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** When the period containing `now` ends (the next one's start). */
export function periodEnd(period: BudgetPeriod, now: Date): Date {
  const start = periodStart(period, now);
  if (period === "day") return new Date(start.getTime() + DAY_MS);
  if (period === "week") return new Date(start.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}
