/**
 * A cache for values per key where the keys come from the network (log paths, sender ids):
 * it keeps the first `max` keys and no more, so that a stream of hostile distinct keys cannot
 * grow memory. Past the bound values are made afresh each time: slower, never unbounded.
 *
 *     const counter = cache.get(path) ?? cache.keep(path, makeCounter(path));
 */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();

  constructor(readonly max: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  /** Remembers `value` for `key` while there is room; returns it either way. */
  keep(key: string, value: V): V {
    if (this.map.size < this.max) this.map.set(key, value);
    return value;
  }

  get size(): number {
    return this.map.size;
  }
}
