import { spoolSchema, type SpoolConfig } from './spool/options.js';

/** The per-sink buffer settings, owned by BufferedSink and shared by every sink kind. */
export type WhenFull = 'block' | 'drop-newest' | 'drop-oldest';

export interface BufferOptions {
  /** High-water mark in records (waiting plus in flight). */
  maxRecords: number;
  /** High-water mark in payload bytes (waiting plus in flight). */
  maxBytes: number;
  whenFull: WhenFull;
  /** Largest batch handed to the transport in one send. */
  batchMaxRecords: number;
  batchMaxBytes: number;
  /** Batches awaiting acknowledgement at once; 1 keeps strict order per sink. */
  maxInFlight: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Keep undelivered records in a disk spool instead of memory (read by the gateway, which opens it). */
  spool?: SpoolConfig | undefined;
}

export const bufferSchema = {
  maxRecords: {
    doc: 'High-water mark in records held by the sink (waiting plus awaiting acknowledgement). For outages longer than a few seconds, use the disk spool rather than a larger memory buffer.',
    format: 'nat',
    default: 10_000,
  },
  maxBytes: {
    doc: 'High-water mark in payload bytes held by the sink.',
    format: 'nat',
    default: 8 * 1024 * 1024,
  },
  whenFull: {
    doc: 'What happens when the buffer is full: block (the ingress stops reading, ZeroMQ HWM takes over), drop-newest or drop-oldest (counted in zeek_gateway_sink_dropped_total).',
    format: ['block', 'drop-newest', 'drop-oldest'],
    default: 'block',
  },
  batchMaxRecords: {
    doc: 'Most records sent to the broker in one batch.',
    format: 'nat',
    default: 1000,
  },
  batchMaxBytes: {
    doc: 'Most payload bytes in one batch (keep below the broker message size limits).',
    format: 'nat',
    default: 900_000,
  },
  maxInFlight: {
    doc: 'Batches awaiting acknowledgement at once (amqp sinks: 20 by default). 1 keeps records in order per sink even across retries; with more, a failed batch is sent again after later ones were delivered.',
    format: 'nat',
    default: 1,
  },
  retryInitialMs: {
    doc: 'First delay before retrying a failed batch; doubles per failure.',
    format: 'nat',
    default: 200,
  },
  retryMaxMs: {
    doc: 'Longest delay between retries of a failed batch.',
    format: 'nat',
    default: 10_000,
  },
  spool: spoolSchema,
} as const;
