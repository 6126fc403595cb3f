// Waiting in tests: a pause, a turn of the event loop, and polling until a condition holds.

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` every `pollMs` until it holds, failing (not hanging) after `timeoutMs`. A
 * synchronous condition is checked without a detour through the microtask queue.
 */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
  pollMs = 25,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = cond();
    if (typeof ok === 'boolean' ? ok : await ok) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** eventually() for a synchronous condition on in-memory fakes: polls every 5 ms, 5 s by default. */
export const until = (cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> => eventually(cond, timeoutMs, what, 5);
