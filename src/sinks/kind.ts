import type { Logger } from '../ops/log.js';
import type { BufferOptions } from '../buffer/index.js';
import type { Address } from '../record.js';
import type { Transport } from './transport.js';

/**
 * A destination's address settings as the routing table resolved them: the destination's
 * own, else its route's, else the sink's defaults.
 */
export interface AddressSettings {
  /** The log path used for routing (filter suffix stripped when that option is on). */
  readonly path: string;
  /** A setting rendered as a template over the path ('' when unset). */
  template(key: string): string;
  /** A setting as written ('' when unset). */
  value(key: string): string;
}

/** Where a destination's records go, resolved once per path. */
export interface DestinationAddress {
  /** AMQP exchange, Kafka topic, console: the path. */
  readonly target: string;
  readonly routingKey?: string | undefined;
  /** Record field whose value becomes the message key (Kafka). */
  readonly keyField?: string | undefined;
}

/** Builds a sink's transport from its options. */
export type TransportFactory<O> = (options: O, ctx: { name: string; logger: Logger }) => Transport;

/**
 * One sink kind (amqp, kafka, console): its option schema, its address settings (defaults
 * the routing table may override per route) and how it turns them into an address, and
 * how to build its transport. A new kind is a folder exporting one of these, registered
 * in sinks/index.ts.
 */
export interface SinkKind<O = never> {
  readonly kind: string;
  /** Convict schema of the kind's own options (connection, TLS, ...). */
  readonly schema: object;
  /**
   * Convict schema of the address settings (exchange/routingKey, topic/keyField): the
   * sink's defaults, which routes and destinations may override under the same keys.
   */
  readonly addressing: object;
  /** A destination's address from its resolved settings. */
  address(settings: AddressSettings): DestinationAddress;
  /**
   * Options an earlier version took and this one no longer does, each with what to do instead:
   * a config that still sets one is refused with that message (not "unknown key"), before
   * convict sees the value (it may be a map with dotted keys, or hold a secret).
   */
  readonly retired?: Readonly<Record<string, string>>;
  /** Buffer defaults of this kind where they differ from the shared ones. */
  readonly bufferDefaults?: Partial<Omit<BufferOptions, 'spool'>>;
  /**
   * Why the broker cannot take this rendered address (too long, illegal characters), or
   * undefined. Checked per record before publishing: such a record is refused on its own
   * (`invalid_address`) instead of failing its batch on every retry.
   */
  validateAddress?(address: Address): string | undefined;
  /** Checks that span several options; each problem names its key. */
  validate?(options: O): Array<{ key: string; message: string }>;
  /**
   * Imports the kind's broker client library and returns how to build a transport. Only the
   * kinds (and the Kafka client) a configuration uses are loaded: the client libraries cost
   * resident memory whether or not a sink uses them (@platformatic/kafka alone ~50 MB).
   */
  load(options: O): Promise<TransportFactory<O>>;
}
