import type { Logger } from '../ops/log.js';
import type { BufferOptions } from '../buffer/index.js';
import type { Transport } from './transport.js';

/**
 * One sink kind (amqp, kafka, console): its option schema, the address defaults the
 * routing table may override per route, and how to build its transport.
 */
export interface SinkKind<O = never> {
  readonly kind: string;
  /** Convict schema of the kind's own options (connection, TLS, ...). */
  readonly schema: object;
  /** Convict schema of the address defaults (exchange/routingKey, topic/keyField). */
  readonly addressing: object;
  /**
   * Options whose value is a free-form map with dotted keys (librdkafka properties), which
   * convict cannot walk: the loader hands them to convict as JSON text and the kind parses it.
   */
  readonly propertyMaps?: readonly string[];
  /** Buffer defaults of this kind where they differ from the shared ones. */
  readonly bufferDefaults?: Partial<Omit<BufferOptions, 'spool'>>;
  /** Checks that span several options; each problem names its key. */
  validate?(options: O): Array<{ key: string; message: string }>;
  create(options: O, ctx: { name: string; logger: Logger }): Transport;
}
