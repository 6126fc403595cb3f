// kafkajs 2.2.4 (its last release) re-arms each connection's pending-request check after every
// response with the delay `throttledUntil - Date.now()`, even when nothing is pending and nothing
// is throttled: a negative delay, which Node 24 reports as a TimeoutNegativeWarning and runs after
// 1 ms, again and again, for as long as the connection is open (kafkajs issues 1751 and 1704).
// With nothing pending there is nothing to check: a request pushed later schedules its own check,
// and one completing checks the queue itself. Patched once at the class every connection shares,
// and only if it still has the method this is about.
import { createRequire } from 'node:module';

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  scheduleCheckPendingRequests(this: RequestQueue): void;
}

const PATCHED = Symbol.for('zeek-log-gateway.kafkajs-idle-check');

/** Makes kafkajs's request queues skip the check when nothing is pending or throttled. Idempotent. */
export function skipIdleRequestChecks(): void {
  let proto: (RequestQueue & { [PATCHED]?: true }) | undefined;
  try {
    const queue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype?: RequestQueue };
    proto = queue.prototype;
  } catch {
    return; // a kafkajs laid out differently: left as it is
  }
  const schedule = proto?.scheduleCheckPendingRequests;
  if (!proto || proto[PATCHED] || typeof schedule !== 'function') return;
  proto.scheduleCheckPendingRequests = function scheduleUnlessIdle(this: RequestQueue) {
    const idle = Array.isArray(this.pending) && this.pending.length === 0 && !(this.throttledUntil > Date.now());
    if (idle && !this.throttleCheckTimeoutId) return;
    schedule.call(this);
  };
  proto[PATCHED] = true;
}
