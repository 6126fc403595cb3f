// Memory measured, not guessed: a full garbage collection without --expose-gc on the command line.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** Runs a full garbage collection. */
export function gc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** process.memoryUsage() after full collections, with turns of the event loop between them (finalizers, pending frees). */
export async function memoryAfterGc(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

/** Heap and ArrayBuffer bytes in use after two full collections. */
export function usedBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * How many of `refs` still point at a live object after a full collection. Call it after an
 * await: a WeakRef's target stays alive until the end of the job that created or read it.
 */
export async function stillAlive(refs: ReadonlyArray<WeakRef<object>>): Promise<number> {
  await new Promise((r) => setImmediate(r));
  gc();
  gc();
  let n = 0;
  for (const r of refs) if (r.deref() !== undefined) n++;
  return n;
}
