// Measuring what a test's objects keep alive: a full garbage collection, then live objects or bytes.
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

/** Heap and ArrayBuffer bytes in use after two full collections. */
export function usedBytes(): number {
  collect();
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * How many of `refs` still point at a live object after a full collection. Call it after an
 * await: a WeakRef's target stays alive until the end of the job that created or read it.
 */
export async function stillAlive(refs: ReadonlyArray<WeakRef<object>>): Promise<number> {
  await new Promise((r) => setImmediate(r));
  collect();
  collect();
  let n = 0;
  for (const r of refs) if (r.deref() !== undefined) n++;
  return n;
}
