import { join } from 'node:path';
import type { FsyncPolicy } from './writer.js';

/** One sink's spool: its own directory and limits. */
export interface SpoolOptions {
  /** The sink's spool directory (created if missing). */
  dir: string;
  /** Size limit of the segment files; the store reports `full` at it. */
  maxBytes: number;
  /** A segment is closed and a new one started at this size; settled segments are deleted whole. */
  segmentBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** Records kept in memory besides those on disk: the newest pushed and the next to be sent. */
  memoryRecords: number;
}

/** The `buffer.spool` section of a sink's configuration. */
export interface SpoolConfig extends SpoolOptions {
  enabled: boolean;
}

const MiB = 1024 * 1024;
export const MIN_SEGMENT_BYTES = 4096;

/** Convict schema fragment for a sink's `buffer.spool`. */
export const spoolSchema = {
  enabled: {
    doc: 'Keep this sink’s undelivered records in a disk spool: they survive broker outages longer than memory allows and gateway restarts, and are delivered in order afterwards. The buffer high-water mark is then the spool’s maxBytes.',
    format: Boolean,
    default: false,
  },
  dir: {
    doc: "Directory for spools, required when enabled; each sink spools in a subdirectory named after it. One gateway per directory.",
    format: String,
    default: '',
  },
  maxBytes: {
    doc: 'Size limit of the spool files. At it the sink is full and its whenFull policy applies. The files may exceed it by one ingress message (block), or, under drop-oldest, by what is dropped while an older batch awaits acknowledgement.',
    format: 'nat',
    default: 1024 * MiB,
  },
  segmentBytes: {
    doc: 'Size of one spool file (segment). Disk space is freed a segment at a time, once all its records are delivered.',
    format: 'nat',
    default: 64 * MiB,
  },
  fsync: {
    doc: 'When spooled records are forced to disk. Every record is written to the file before it is accepted, so a killed gateway loses nothing in any mode; fsync is about power cuts and kernel crashes. always: each record is synced before it is accepted (a power cut loses nothing; costly: one disk flush per record, the gateway then manages some hundreds to a few thousand records/s per sink). interval: synced every fsyncIntervalMs (a power cut loses up to that much; about the speed of never, ~100,000+ records/s of 1 KiB). never: the OS writes back when it likes (Linux: up to ~30 s lost on a power cut).',
    format: ['always', 'interval', 'never'],
    default: 'interval',
  },
  fsyncIntervalMs: {
    doc: 'Sync period of the interval policy; also how often the delivery checkpoint is saved (with always it is saved at every acknowledgement).',
    format: 'positive-int',
    default: 1000,
  },
  memoryRecords: {
    doc: 'Records the spool also keeps in memory: the newest, so that a sink that keeps up never reads back from disk, and a read-ahead of the next to send.',
    format: 'nat',
    default: 10_000,
  },
} as const;

/** Checks that span several keys; each problem names its key (relative to buffer.spool). */
export function spoolProblems(c: SpoolConfig): Array<{ key: string; message: string }> {
  if (!c.enabled) return [];
  const problems: Array<{ key: string; message: string }> = [];
  if (c.dir === '') problems.push({ key: 'dir', message: 'is required when the spool is enabled' });
  if (c.segmentBytes < MIN_SEGMENT_BYTES) problems.push({ key: 'segmentBytes', message: `must be at least ${MIN_SEGMENT_BYTES}` });
  if (c.maxBytes < c.segmentBytes) problems.push({ key: 'maxBytes', message: 'must be at least segmentBytes' });
  return problems;
}

/** The options of one sink's spool: its own subdirectory of `dir`. */
export function spoolOptionsFor(c: SpoolConfig, sinkName: string): SpoolOptions {
  const { enabled: _enabled, ...options } = c;
  return { ...options, dir: join(c.dir, sinkName) };
}
