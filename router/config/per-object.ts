/**
 * Memoises `compute` per config object (a provider, a route: immutable once loaded, and replaced by a reload, so
 * what was computed for the old config goes with it).
 */
export function perObject<K extends object, V>(compute: (key: K) => V): (key: K) => V {
  const cache = new WeakMap<K, V>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      value = compute(key);
      cache.set(key, value);
    }
    return value;
  };
}
