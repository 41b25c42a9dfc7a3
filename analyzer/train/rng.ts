/** Seeded randomness for reproducible training: the router's mulberry32 PRNG plus shuffle and pick. */
export { rng } from "../../router/prng.js";

export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
  return items;
}

export function pick<T>(items: readonly T[], random: () => number): T {
  const v = items[Math.floor(random() * items.length)];
  if (v === undefined) throw new Error("pick from empty list");
  return v;
}
