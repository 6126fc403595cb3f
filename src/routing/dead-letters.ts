import type { LogRecord, OutboundMessage } from '../record.js';
import type { Metrics } from '../ops/metrics.js';
import type { BufferedSink } from '../buffer/index.js';
import type { RoutingTable } from './table.js';

export interface DeadLetterConfig {
  /** The sink that receives dead letters; '' turns them off. */
  sink: string;
  exchange: string;
  routingKey: string;
  topic: string;
  /** Also send messages rejected at an ingress (bad input), not only records a broker refused. */
  ingressRejects: boolean;
  /** Bytes of each frame of a rejected message that are kept (base64) in its dead letter. */
  maxFrameBytes: number;
}

export const deadLetterSchema = {
  sink: {
    doc: "Sink that receives dead letters: records a broker refused for good (unroutable, too large) and, with ingressRejects, messages rejected at an ingress. '' turns dead letters off (they are only counted).",
    format: String,
    default: '',
  },
  exchange: {
    doc: "AMQP exchange for dead letters; '' uses the sink's exchange.",
    format: String,
    default: '',
  },
  routingKey: { doc: 'AMQP routing key for dead letters (template: {path} is the record\'s path, _rejected for ingress rejects).', format: String, default: 'dead-letter.{path}' },
  topic: { doc: 'Kafka topic for dead letters (template).', format: String, default: 'zeek-dead-letter' },
  ingressRejects: {
    doc: 'Also send messages rejected at an ingress, as {"ingress","reason","detail","frames":[base64...]}.',
    format: Boolean,
    default: true,
  },
  maxFrameBytes: {
    doc: 'Bytes of each frame of a rejected message kept in its dead letter (the rest is cut, and "truncated" is true).',
    format: 'nat',
    default: 65_536,
  },
};

export const DEAD_LETTER_REASON = 'zeek-dead-letter-reason';
export const DEAD_LETTER_SOURCE = 'zeek-dead-letter-source';
/** The routing path of dead letters made from ingress rejects. */
export const REJECTED_PATH = '_rejected';

/**
 * Sends what would otherwise only be counted to a dead-letter destination, with the
 * reason in a header: records a broker refused for good, and bad ingress messages.
 * A dead letter that is refused again is dropped (counted), never dead-lettered twice.
 */
export class DeadLetters {
  private readonly counters = new Map<string, { inc(): void }>();

  constructor(
    private readonly config: DeadLetterConfig,
    private readonly sink: BufferedSink,
    /** A table whose default route is the dead-letter destination; resolves its address per path. */
    private readonly table: RoutingTable,
    private readonly metrics: Metrics,
  ) {}

  /** A sink gave up on `message` (its reject handler). */
  fromSink(message: OutboundMessage, reason: string, sinkName: string): void {
    if (message.headers?.[DEAD_LETTER_REASON] !== undefined) {
      this.count('sink', 'dead-letter-refused');
      return;
    }
    this.send(message.record, message.payload, reason, `sink:${sinkName}`, message.headers);
  }

  /** An ingress rejected a message. */
  fromIngress(ingress: string, reason: string, detail: string, frames: readonly Buffer[]): void {
    if (!this.config.ingressRejects) return;
    const max = this.config.maxFrameBytes;
    const truncated = frames.some((f) => f.length > max);
    const payload = Buffer.from(
      JSON.stringify({
        ingress,
        reason,
        detail,
        frames: frames.map((f) => f.subarray(0, max).toString('base64')),
        truncated,
      }),
    );
    const record: LogRecord = { path: REJECTED_PATH, json: payload, ingress, receivedAt: performance.now() };
    this.send(record, payload, reason, `ingress:${ingress}`, undefined);
  }

  private send(
    record: LogRecord,
    payload: Buffer,
    reason: string,
    source: string,
    headers: Readonly<Record<string, string>> | undefined,
  ): void {
    const d = this.table.plan(record.path).destinations[0];
    if (!d) return;
    this.count(source.split(':')[0] as string, reason);
    this.sink.offer({
      record,
      payload,
      address: { target: d.target, routingKey: d.routingKey },
      headers: { ...headers, [DEAD_LETTER_REASON]: reason, [DEAD_LETTER_SOURCE]: source },
    });
  }

  private count(source: string, reason: string): void {
    const key = `${source}\u0000${reason}`;
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = this.metrics.deadLetters.labels(source, reason)));
    c.inc();
  }
}
