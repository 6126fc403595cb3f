// Builders for records and outbound messages in unit tests.
import type { LogRecord, OutboundMessage } from '../../src/record.js';

export function record(path: string, json: string, sender?: string): LogRecord {
  return { path, json: Buffer.from(json), sender, ingress: 'test', receivedAt: performance.now() };
}

export function message(path: string, payload: string): OutboundMessage {
  return { record: record(path, payload), payload: Buffer.from(payload), address: { target: path } };
}

export function payloads(messages: readonly OutboundMessage[]): string[] {
  return messages.map((m) => m.payload.toString());
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until true or fails after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
