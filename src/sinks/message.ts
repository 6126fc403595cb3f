import type { LogRecord } from '../record.js';

/**
 * One record bound for one destination of one sink: the router's output and the
 * sink buffer's element. The payload (envelope applied) is shared between
 * destinations that use the same envelope, so fan-out costs no copies.
 */
export interface OutboundMessage {
  readonly record: LogRecord;
  /** Bytes to publish (tagged or raw envelope already applied). */
  readonly payload: Buffer;
  /**
   * Where the sink puts it, already resolved from the route's templates.
   * AMQP: exchange and routing key. Kafka: topic (and key). Console: a label.
   */
  readonly address: Address;
  /** Extra headers, e.g. the reason of a dead letter. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** The headers every published record carries: its Zeek path, its sender node, and any extras. */
export function messageHeaders(m: OutboundMessage): Record<string, string> {
  const headers: Record<string, string> = { 'zeek-path': m.record.path };
  if (m.record.sender !== undefined) headers['zeek-sender'] = m.record.sender;
  return m.headers ? Object.assign(headers, m.headers) : headers;
}

export interface Address {
  /** AMQP exchange (may be '' for the default exchange); Kafka topic; console stream. */
  readonly target: string;
  /** AMQP routing key; unused by Kafka. */
  readonly routingKey?: string | undefined;
  /** Kafka message key (e.g. the record's uid), computed by the router if configured. */
  readonly key?: Buffer | null | undefined;
}
