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

// The waiting helpers live in wait.ts; re-exported for the tests that import them from here.
export { sleep, tick, until } from './wait.js';
