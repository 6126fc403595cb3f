import type * as zmq from 'zeromq';
import type { Logger } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { LogRecord } from '../record.js';
import type { SchemaCatalog } from '../zeek/schemas.js';

export type RejectHook = (ingress: string, reason: string, detail: string, frames: readonly Buffer[]) => void;

/** Where an ingress hands its records (the router): it may ask the ingress to wait while a blocking sink is full. */
export interface RecordOutlet {
  route(record: LogRecord): void;
  /** True when the ingress must wait before reading on. */
  mustWait(): boolean;
  /** Resolves when the ingress may read on. */
  whenWritable(): Promise<void>;
  /** Set while a reload holds routing: a message received meanwhile waits for it before being handed over. */
  readonly holding?: Promise<void> | undefined;
}

/** What the gateway gives each ingress factory. */
export interface IngressDeps {
  router: RecordOutlet;
  metrics: Metrics;
  logger: Logger;
  /** The ZeroMQ context shared by the ingress sockets and the ZAP handler. */
  context: zmq.Context;
  /** Receives rejected messages for the dead-letter destination, when one is configured. */
  deadLetter?: RejectHook | undefined;
  /** Applies CURVE server options to a socket before it binds, when configured. */
  secure?: ((socket: zmq.Socket, ingress: string) => void) | undefined;
  /** Collects the schemas of cluster batches (GET /schemas), when given. */
  schemas?: SchemaCatalog | undefined;
}
