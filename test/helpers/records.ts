// Builders for records and outbound messages in unit tests.
import type { LogRecord, OutboundMessage } from '../../src/record.js';
import type { BufferOptions } from '../../src/buffer/options.js';

/** Small buffer settings for unit tests of a sink: batches of 4, quick retries. */
export const unitBuffer: BufferOptions = {
  maxRecords: 10,
  maxBytes: 1 << 20,
  whenFull: 'block',
  batchMaxRecords: 4,
  batchMaxBytes: 1 << 20,
  maxInFlight: 1,
  retryInitialMs: 5,
  retryMaxMs: 20,
};

export function record(path: string, json: string, sender?: string): LogRecord {
  return { path, json: Buffer.from(json), sender, ingress: 'test', receivedAt: performance.now() };
}

export function message(path: string, payload: string): OutboundMessage {
  return { record: record(path, payload), payload: Buffer.from(payload), address: { target: path } };
}

export function payloads(messages: readonly OutboundMessage[]): string[] {
  return messages.map((m) => m.payload.toString());
}

// The waiting helpers live in wait.ts; re-exported for the tests that import them from here.
export { sleep, tick, until } from './wait.js';
