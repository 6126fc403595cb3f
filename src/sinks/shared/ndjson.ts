// Opt-in NDJSON batching for any broker sink: several records of a batch travel in one message,
// one record per line. A wrapper around the sink's transport, so AMQP and Kafka share it.
import type { OutboundMessage } from '../../record.js';
import { SIZE_REFUSALS, type SendHooks, type SendResult, type Transport } from '../transport.js';

const NEWLINE = 0x0a;

/**
 * A message stops taking records at this size, far below the brokers' default limits (Kafka
 * 1 MB, RabbitMQ 128 MB), so a group of large records is not refused where its records alone pass.
 */
export const NDJSON_MAX_BYTES = 512 * 1024;

/** The sink option, the same for every sink kind that supports it. */
export function recordsPerMessageSchema(addressing: string): object {
  return {
    doc: `Opt-in NDJSON batching: above 1, up to this many records of a batch with the same ${addressing}, path and sender travel in one message (at most ${NDJSON_MAX_BYTES / 1024} KiB; one record per line, each ending in a newline; header zeek-records holds the count); order is kept per path, not across paths. Consumers must split the lines. A record holding a raw newline is refused (reason newline_in_record). 0 or 1: one record per message.`,
    format: 'nat',
    default: 1,
  };
}

/** The sink's transport as is, or wrapped to send NDJSON messages when recordsPerMessage is above 1. */
export function withNdjson(transport: Transport, recordsPerMessage: number): Transport {
  return recordsPerMessage > 1 ? new NdjsonTransport(transport, recordsPerMessage) : transport;
}

/** What keeps records apart: a message's headers and address must be true for all its records. */
function groupKey(m: OutboundMessage): string {
  const a = m.address;
  const key = a.key ? a.key.toString('latin1') : '';
  return `${a.target}\u0000${a.routingKey ?? ''}\u0000${key}\u0000${m.record.path}\u0000${m.record.sender ?? ''}`;
}

/** Whether two records belong in the same message: groupKey(a) === groupKey(b), without building either. */
function sameGroup(a: OutboundMessage, b: OutboundMessage): boolean {
  const x = a.address;
  const y = b.address;
  return (
    a.record.path === b.record.path &&
    a.record.sender === b.record.sender &&
    x.target === y.target &&
    x.routingKey === y.routingKey &&
    (x.key === y.key || (!x.key && !y.key) || (!!x.key && !!y.key && x.key.equals(y.key)))
  );
}

/** One NDJSON message: its records (batch indices) and its body size, newlines included. */
export interface Group {
  indices: number[];
  bytes: number;
}

const alone = (batch: readonly OutboundMessage[], i: number): Group => ({ indices: [i], bytes: (batch[i] as OutboundMessage).payload.length + 1 });

/**
 * The NDJSON messages of a batch: records grouped by address, path
 * and sender, each group in batch order, at most `max` records and NDJSON_MAX_BYTES per message;
 * records with extra headers (dead letters) go alone.
 */
export function ndjsonGroups(batch: readonly OutboundMessage[], indices: readonly number[], max: number): Group[] {
  const open = new Map<string, Group>();
  const messages: Group[] = [];
  // Runs of records of one path and sender are the rule (a cluster batch is one path of one
  // node): they skip building the key.
  let last: OutboundMessage | undefined;
  let lastGroup: Group | undefined;
  for (const i of indices) {
    const m = batch[i] as OutboundMessage;
    if (m.headers) {
      messages.push(alone(batch, i));
      continue;
    }
    const size = m.payload.length + 1;
    let group = last !== undefined && sameGroup(last, m) ? lastGroup : undefined;
    let key: string | undefined;
    if (group === undefined) group = open.get((key = groupKey(m)));
    if (group === undefined || group.indices.length >= max || group.bytes + size > NDJSON_MAX_BYTES) {
      group = { indices: [], bytes: 0 };
      open.set(key ?? groupKey(m), group);
      messages.push(group);
    }
    group.indices.push(i);
    group.bytes += size;
    last = m;
    lastGroup = group;
  }
  return messages;
}

/** One message carrying the given records as NDJSON, addressed and headed like its first record. */
function ndjsonMessage(batch: readonly OutboundMessage[], { indices, bytes }: Group): OutboundMessage {
  const body = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const i of indices) {
    at += (batch[i] as OutboundMessage).payload.copy(body, at);
    body[at++] = NEWLINE;
  }
  const first = batch[indices[0] as number] as OutboundMessage;
  return { record: first.record, payload: body, address: first.address, headers: { ...first.headers, 'zeek-records': String(indices.length) } };
}

type Rejection = { message: OutboundMessage; reason: string };

/**
 * Sends a batch as NDJSON messages through the wrapped transport and maps what the broker
 * refused back to the records of each refused message. A message refused for its size is
 * sent again record by record, so only records too large on their own stay refused.
 */
export class NdjsonTransport implements Transport {
  constructor(
    private readonly inner: Transport,
    private readonly recordsPerMessage: number,
  ) {}

  get onStateChange(): ((connected: boolean) => void) | undefined {
    return this.inner.onStateChange;
  }

  set onStateChange(f: ((connected: boolean) => void) | undefined) {
    this.inner.onStateChange = f;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  isConnected(): boolean {
    return this.inner.isConnected();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async send(batch: readonly OutboundMessage[], hooks?: SendHooks): Promise<SendResult> {
    const rejected: Rejection[] = [];
    const sendable: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i] as OutboundMessage;
      // A raw newline (valid between JSON tokens, never written by Zeek) would split the record in two lines.
      if (m.payload.includes(NEWLINE)) rejected.push({ message: m, reason: 'newline_in_record' });
      else sendable.push(i);
    }
    const oversized = await this.sendGroups(batch, ndjsonGroups(batch, sendable, this.recordsPerMessage), rejected, hooks);
    // Messages of one record: whatever the broker refuses of them stays refused.
    if (oversized.length > 0) await this.sendGroups(batch, oversized.map((i) => alone(batch, i)), rejected, hooks);
    return rejected.length > 0 ? { rejected } : {};
  }

  /**
   * Sends the groups, adds the records of refused messages to `rejected`, and returns the
   * records of messages of several records refused for their size (to be sent alone).
   */
  private async sendGroups(batch: readonly OutboundMessage[], groups: Group[], rejected: Rejection[], hooks: SendHooks | undefined): Promise<number[]> {
    if (groups.length === 0) return [];
    const messages = groups.map((g) => ndjsonMessage(batch, g));
    const result = await this.inner.send(messages, hooks);
    if (!result.rejected) return [];
    const groupOf = new Map<OutboundMessage, number[]>(messages.map((m, k) => [m, (groups[k] as Group).indices]));
    const oversized: number[] = [];
    for (const r of result.rejected) {
      const group = groupOf.get(r.message) ?? [];
      if (group.length > 1 && SIZE_REFUSALS.has(r.reason)) oversized.push(...group);
      else for (const i of group) rejected.push({ message: batch[i] as OutboundMessage, reason: r.reason });
    }
    return oversized;
  }
}
