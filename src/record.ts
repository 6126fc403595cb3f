/**
 * The unit that flows through the gateway. Records travel as bytes: the JSON object
 * exactly as Zeek wrote it (or as our cluster decoder rendered it), never re-parsed
 * on the hot path.
 */
export interface LogRecord {
  /** Zeek log path, e.g. `conn`, `dns-2`, `http_8080`. */
  readonly path: string;
  /** The record as a compact JSON object, no trailing newline. */
  readonly json: Buffer;
  /** Cluster node id of the sender (PULL ingress); undefined for NCSA messages. */
  readonly sender?: string | undefined;
  /** Which ingress received it (its configured name), for metrics. */
  readonly ingress: string;
  /** performance.now() when the ingress received the message; used for latency. */
  readonly receivedAt: number;
}

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

export interface Address {
  /** AMQP exchange (may be '' for the default exchange); Kafka topic; console stream. */
  readonly target: string;
  /** AMQP routing key; unused by Kafka. */
  readonly routingKey?: string | undefined;
  /** Kafka message key (e.g. the record's uid), computed by the router if configured. */
  readonly key?: Buffer | null | undefined;
}
