/**
 * CPU time of a process and all its descendants (user + system, from /proc/<pid>/stat), in milliseconds. Linux
 * only; the kernel reports clock ticks of 1/100 s (USER_HZ) on every architecture Node runs on.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10;

interface Stat {
  ppid: number;
  ticks: number;
}

function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces), from field 3 (state) on.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null; // the process exited between the listing and the read
  }
}

/** CPU ms of `pid` and every live descendant (multi-worker servers fork their workers). */
export function treeCpuMs(pid: number): number {
  const all = new Map<number, Stat>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) all.set(Number(name), s);
  }
  const children = new Map<number, number[]>();
  for (const [p, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), p]);
  let ticks = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    ticks += all.get(p)?.ticks ?? 0;
    todo.push(...(children.get(p) ?? []));
  }
  return ticks * TICK_MS;
}
