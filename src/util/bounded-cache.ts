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

/**
 * A Map whose keys come from the network and whose entries can be found again (an exchange
 * checked once more, a refusal looked up again): past `max` keys it forgets the oldest, so
 * hostile distinct keys cannot grow memory and a key first seen late is still remembered.
 */
export class EvictingMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
