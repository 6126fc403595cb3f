import fs from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../ops/log.js';
import { RateLimitedLog } from '../../ops/log.js';
import { Deque } from '../../util/deque.js';
import type { OutboundMessage } from '../../record.js';
import { CHECKPOINT_FILE, FrameEncoder, bodyId, segmentNumber, bodyPayloadBytes, bodySkipped, decodeBody } from './format.js';
import { MIN_SEGMENT_BYTES, type SpoolOptions } from './options.js';
import { FrameReader } from './reader.js';
import { isMarkerFile } from './marker.js';
import { recover, type Recovered, type SpoolDamage } from './recover.js';
import { SegmentWriter, writeCheckpoint, writeCheckpointAsync, type Segment } from './writer.js';
import type { Batch, MessageStore } from '../store.js';

export { spoolSchema, spoolProblems, spoolOptionsFor, type SpoolConfig, type SpoolOptions } from './options.js';
export type { SpoolDamage } from './recover.js';
export type { FsyncPolicy } from './writer.js';

/*
 * The disk spool: a write-ahead log of a sink's records.
 *
 * What "spooled" means: push() returned. By then the record's frame was handed to the
 * kernel with one write(2) (and, with fsync 'always', fdatasync(2) returned). So:
 *   - the gateway dying in any way (SIGKILL, OOM kill, crash) loses no spooled record,
 *     whatever the fsync policy: the page cache outlives the process;
 *   - a power cut or kernel crash loses what was not yet synced: nothing with 'always',
 *     up to fsyncIntervalMs of records with 'interval', up to the kernel's writeback
 *     delay (Linux default ~30 s) with 'never'. A torn or zeroed tail is detected by
 *     the checksums at the next start and skipped.
 * The exception: a record whose write failed (disk full, I/O error) is held in memory,
 * with every record pushed after it (the file keeps push order), and the write is
 * retried every second; it is spooled once written. The store reports `full` meanwhile:
 * a blocking sink holds the ingress back, a dropping one drops (counted). Records
 * delivered or dropped before they could be written are let go at once and never
 * written (a skip frame keeps the ids contiguous). Once the disk takes writes again the
 * held records are written in order, in slices of WRITE_SLICE_MS between event-loop
 * turns, and the sink is told (`onWritable`): the ingress resumes without a restart.
 *
 * Cost per policy, 1 KiB records (ext4 on a virtio disk, 2 busy cores, Node 20; three
 * runs of `SPOOL_BENCH=1 node scripts/run-tests.mjs spool-bench`; MemoryStore: 4M/s):
 *   always     500-1,700 records/s      one fdatasync per record, and the event loop
 *                                       waits for it: the disk's flush latency is the rate
 *   interval   115,000-140,000 records/s  the periodic fdatasync runs on the thread pool
 *   never      110,000-180,000 records/s  the write(2) per record is most of the cost;
 *                                       sustained, the disk's write bandwidth (the kernel
 *                                       throttles writers with too many dirty pages)
 *   reading an outage's backlog back (take 1000 + settle): 120,000-500,000 records/s
 *     (with 'always' each settle also fsyncs the checkpoint: one flush per batch)
 *   opening a spool verifies every checksum: 400-600 MiB/s, ~2-3 s for a full 1 GiB
 *
 * Delivery: settle() advances the cursor, the oldest record not yet settled (batches
 * may settle out of order; a later settled batch waits behind an earlier unsettled
 * one). The cursor is saved in the checkpoint file (write, fsync, rename): at every
 * settle with 'always', every fsyncIntervalMs otherwise, and at close(). A restart
 * delivers everything from the saved cursor again: at-least-once. Duplicates at most:
 * the records in flight at the crash, plus those settled or dropped after the last
 * save (with 'always' only drops; otherwise up to fsyncIntervalMs of them), plus,
 * after a lost checkpoint, the settled part of the oldest segment. Segments wholly
 * behind the cursor are deleted. The cursor is one number: a record dropped
 * (drop-oldest) while an older batch is still in flight comes back after a restart
 * unless that batch was settled first.
 * A restart re-delivers what it re-delivers in push order.
 *
 * Memory: the newest records pushed stay in memory (`window`) so a sink that keeps up
 * never reads its own writes back; past memoryRecords the oldest of them are let go
 * (`gap`: only on disk) and read back in order when the sender gets there (`ahead`).
 * Batches in flight and given back are held by the sink anyway and stay in memory.
 */

interface Entry {
  readonly id: number;
  readonly message: OutboundMessage;
  /** Payload bytes, what the store's `bytes` counts. */
  readonly bytes: number;
  /** Where its frame is; undefined until written, and for records read back. */
  segment: Segment | undefined;
  offset: number;
  /** Settled or dropped while not yet written: no longer to be written. */
  done: boolean;
}

interface InFlight {
  readonly entries: Entry[];
  readonly minId: number;
  readonly bytes: number;
}

export interface SpoolStoreDeps {
  logger: Logger;
  /** Called once per damaged file found at open, e.g. to count it in a metric. */
  onCorrupt?: ((damage: SpoolDamage) => void) | undefined;
  /** Called at every failed write with the error code (ENOSPC, EIO, ...), e.g. to count it in a metric. */
  onWriteError?: ((code: string) => void) | undefined;
}

export interface SpoolStats {
  /** Bytes of the segment files. */
  diskBytes: number;
  segments: number;
  /** Records held in memory by the store (newest, read-ahead, given back). */
  inMemory: number;
  /** Records not yet written because writing failed; retried every second. */
  unwritten: number;
  writeFailures: number;
  /** Damage found at open: stretches, bytes, and records known missing. */
  damagedRegions: number;
  damagedBytes: number;
  lostRecords: number;
}

const WRITE_RETRY_MS = 1000;
/** Longest stretch of writing back held records before yielding to the event loop. */
const WRITE_SLICE_MS = 10;
/** Most records read back from disk in one go: bounds the event loop pause of a catch-up. */
const READ_BATCH = 1024;

export class SpoolStore implements MessageStore {
  /** Held records survive close(): the sink must not count them as dropped at shutdown. */
  readonly persistent = true;
  onWritable: (() => void) | undefined;

  private readonly log: RateLimitedLog;
  private readonly writer: SegmentWriter;
  private readonly encoder = new FrameEncoder();
  private readonly segments: Segment[];
  private diskBytes: number;

  /** Given back after a failed send: the oldest waiting records, in id order. */
  private readonly returned = new Deque<Entry>(64);
  /** Read back from disk: next after `returned`. */
  private readonly ahead = new Deque<Entry>(64);
  /** Waiting records only on disk, between `ahead` and `window`. */
  private gap: number;
  private gapBytes: number;
  /** The newest pushes not yet taken, at most memoryRecords (minus `ahead`) of them. */
  private readonly window = new Deque<Entry>(1024);
  /** Pushes whose write failed, oldest first (also in `window` while waiting). */
  private readonly unwritten = new Deque<Entry>(16);
  private readonly inFlight = new Map<number, InFlight>();

  private held: number;
  private heldBytes: number;
  private nextId: number;
  /** Next id of the disk queue (ahead, gap, window) not yet taken or dropped. */
  private readId: number;
  /** Oldest record not settled, as last computed; `saved` is what the checkpoint holds. */
  private cursor: number;
  private saved: number;
  private reader: { segment: Segment; fd: number; frames: FrameReader } | undefined;
  /** The reader skips frames below this id: already loaded, or before the cursor. */
  private loadedUpTo: number;
  /** Records with a smaller id come from an earlier run: their receipt time is the load time. */
  private readonly runStartId: number;
  private readonly loadedAt = performance.now();
  private seq = 0;
  private retryAt = 0;
  private writeFailures = 0;
  /** Disk-only records that could not be read back after open. */
  private lostAfterOpen = 0;
  private readonly damage: SpoolDamage[];
  private readonly timer: NodeJS.Timeout;
  /** A checkpoint being saved in the background (interval and never policies). */
  private saving: Promise<void> | undefined;
  private retryQueued = false;
  /** Newest id written (or skipped) in this run; ids after it not yet written are held in `unwritten` or were let go. */
  private lastWrittenId: number;
  private closed = false;

  /** Opens (and recovers) a spool directory. Never fails on damaged files: they are skipped and reported. */
  static async open(options: SpoolOptions, deps: SpoolStoreDeps): Promise<SpoolStore> {
    if (options.dir === '') throw new Error('spool dir is required');
    if (options.segmentBytes < MIN_SEGMENT_BYTES) throw new Error(`spool segmentBytes must be at least ${MIN_SEGMENT_BYTES}`);
    const recovered = await recover(options.dir, deps.logger);
    for (const d of recovered.damage) deps.onCorrupt?.(d);
    return new SpoolStore(options, deps, recovered);
  }

  private constructor(
    readonly options: SpoolOptions,
    private readonly deps: SpoolStoreDeps,
    rec: Recovered,
  ) {
    const logger = deps.logger.child({ spool: options.dir });
    this.log = new RateLimitedLog(logger);
    this.segments = rec.segments;
    this.diskBytes = rec.segments.reduce((n, s) => n + s.end, 0);
    this.damage = rec.damage;
    this.held = this.gap = rec.records;
    this.heldBytes = this.gapBytes = rec.bytes;
    this.cursor = this.saved = this.readId = this.loadedUpTo = rec.cursor;
    this.nextId = this.runStartId = Math.max(rec.maxId + 1, rec.cursor);
    this.lastWrittenId = this.runStartId - 1;
    this.writer = new SegmentWriter(
      options.dir,
      options.segmentBytes,
      options.fsync,
      rec.nextSegmentNumber,
      (segment) => {
        this.segments.push(segment);
        this.diskBytes += segment.end;
      },
      (err) => this.log.error('fsync', { err: err.message }, 'spool fsync failed: records since the last sync may not survive a power cut'),
    );
    if (rec.first) this.seek(rec.first.segment, rec.first.offset);
    this.deleteSettledSegments();
    if (rec.records > 0) {
      logger.info({ records: rec.records, bytes: rec.bytes, cursor: rec.cursor }, 'spool recovered undelivered records');
    }
    this.timer = setInterval(() => this.tick(), Math.max(1, options.fsyncIntervalMs));
    this.timer.unref();
  }

  get records(): number {
    return this.held;
  }

  get bytes(): number {
    return this.heldBytes;
  }

  get waiting(): number {
    return this.returned.length + this.ahead.length + this.gap + this.window.length;
  }

  /** At the size limit (or unable to write): the sink's high-water mark when it has a spool. */
  get full(): boolean {
    return this.diskBytes >= this.options.maxBytes || this.unwritten.length > 0;
  }

  get stats(): SpoolStats {
    let damagedRegions = 0;
    let damagedBytes = 0;
    let lostRecords = this.lostAfterOpen;
    for (const d of this.damage) {
      damagedRegions += d.regions;
      damagedBytes += d.bytes;
      lostRecords += d.lostRecords;
    }
    return {
      diskBytes: this.diskBytes,
      segments: this.segments.length,
      inMemory: this.returned.length + this.ahead.length + this.window.length,
      unwritten: this.unwritten.length,
      writeFailures: this.writeFailures,
      damagedRegions,
      damagedBytes,
      lostRecords,
    };
  }

  push(message: OutboundMessage): void {
    if (this.closed) throw new Error('spool is closed');
    const e: Entry = { id: this.nextId++, message, bytes: message.payload.length, segment: undefined, offset: 0, done: false };
    this.held++;
    this.heldBytes += e.bytes;
    this.window.pushBack(e);
    // Once a write failed, later records queue behind it (the file keeps push order), and
    // no write is tried before the retry delay.
    if (this.unwritten.length > 0 || Date.now() < this.retryAt) {
      this.unwritten.pushBack(e);
      this.retryUnwritten();
    } else if (!this.write(e)) {
      this.unwritten.pushBack(e);
    }
    this.evict();
  }

  dropOldest(): boolean {
    if (this.closed) return false;
    const e = this.peekWaiting();
    if (e === undefined) return false;
    this.popWaiting(e);
    this.held--;
    this.heldBytes -= e.bytes;
    if (this.unwritten.length > 0) this.letGoUnwritten([e]);
    this.advance(false);
    return true;
  }

  take(maxRecords: number, maxBytes: number): Batch | undefined {
    if (this.closed) return undefined;
    const entries: Entry[] = [];
    let bytes = 0;
    let minId = Infinity;
    while (entries.length < maxRecords) {
      const e = this.peekWaiting();
      if (e === undefined) break;
      // Always take at least one record, even if it alone exceeds maxBytes.
      if (entries.length > 0 && bytes + e.bytes > maxBytes) break;
      this.popWaiting(e);
      entries.push(e);
      bytes += e.bytes;
      if (e.id < minId) minId = e.id;
    }
    if (entries.length === 0) return undefined;
    const seq = this.seq++;
    this.inFlight.set(seq, { entries, minId, bytes });
    return { seq, messages: entries.map((e) => e.message), bytes };
  }

  settle(batch: Batch): void {
    // After close the checkpoint is written: the next start delivers the batch again.
    if (this.closed) return;
    const f = this.inFlight.get(batch.seq);
    if (f === undefined) return;
    this.inFlight.delete(batch.seq);
    this.held -= f.entries.length;
    this.heldBytes -= f.bytes;
    if (this.unwritten.length > 0) this.letGoUnwritten(f.entries);
    this.advance(true);
  }

  giveBack(batches: readonly Batch[]): void {
    if (this.closed) return;
    const back: Entry[] = [];
    for (const b of batches) {
      const f = this.inFlight.get(b.seq);
      if (f === undefined) continue;
      this.inFlight.delete(b.seq);
      for (const e of f.entries) back.push(e);
    }
    if (back.length === 0) return;
    // Push order, whatever order the batches were taken and failed in. Nothing is rewritten.
    for (let e = this.returned.popFront(); e !== undefined; e = this.returned.popFront()) back.push(e);
    back.sort((a, b) => a.id - b.id);
    for (const e of back) this.returned.pushBack(e);
  }

  get location(): string {
    return this.options.dir;
  }

  /**
   * Closes the spool and deletes its files: for a spool whose records were all delivered by a
   * successor that does not use this directory (a reload moved spool.dir). Files that are not
   * the spool's stay, and so does the directory then.
   */
  async closeAndRemove(): Promise<void> {
    await this.close();
    for (const name of fs.readdirSync(this.options.dir)) {
      if (segmentNumber(name) !== undefined || name === CHECKPOINT_FILE || isMarkerFile(name)) fs.rmSync(join(this.options.dir, name), { force: true });
    }
    try {
      fs.rmdirSync(this.options.dir);
    } catch {
      // Not empty (foreign files): left alone, as recover() leaves them.
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.retryAt = 0;
    this.retryUnwritten(Infinity);
    let unwritten = 0;
    for (let e = this.unwritten.popFront(); e !== undefined; e = this.unwritten.popFront()) if (!e.done) unwritten++;
    if (unwritten > 0) {
      this.log.error('unwritten', { records: unwritten }, 'spool closes with records it could not write: they are lost');
    }
    // Failures are logged, not thrown: what is on disk stays valid, and an older
    // checkpoint only means more repeats at the next start.
    try {
      await this.writer.close();
    } catch (err) {
      this.log.error('close', { err: (err as Error).message }, 'spool could not sync its last segment at close');
    }
    await this.saving;
    this.cursor = this.computeCursor();
    try {
      writeCheckpoint(this.options.dir, this.cursor, true);
      this.saved = this.cursor;
    } catch (err) {
      this.log.error('checkpoint', { err: (err as Error).message }, 'spool checkpoint could not be saved at close');
    }
    this.closeReader();
  }

  // ---- waiting records: returned, then ahead, gap (disk) and window, in id order

  private peekWaiting(): Entry | undefined {
    const r = this.returned.peekFront();
    if (r !== undefined) return r;
    if (this.ahead.length === 0 && this.gap > 0) this.fill();
    return this.ahead.peekFront() ?? this.window.peekFront();
  }

  private popWaiting(e: Entry): void {
    if (this.returned.peekFront() === e) this.returned.popFront();
    else if (this.ahead.peekFront() === e) this.ahead.popFront();
    else this.window.popFront();
    if (e.id >= this.readId) this.readId = e.id + 1;
  }

  /** Lets the oldest of the newest records go to disk-only once memory holds too many. */
  private evict(): void {
    while (this.window.length + this.ahead.length > this.options.memoryRecords) {
      const e = this.window.peekFront();
      if (e === undefined || e.segment === undefined) return; // not on disk yet: must stay
      this.window.popFront();
      if (this.gap === 0) {
        this.seek(e.segment, e.offset);
        this.loadedUpTo = e.id;
      }
      this.gap++;
      this.gapBytes += e.bytes;
    }
  }

  /** Reads the next disk-only records into `ahead`. */
  private fill(): void {
    const room = Math.max(1, Math.min(READ_BATCH, this.options.memoryRecords - this.window.length));
    while (this.gap > 0 && this.ahead.length < room) {
      let e: Entry | undefined;
      try {
        e = this.readNext();
      } catch (err) {
        this.log.error('read', { err: (err as Error).message }, 'spool segment could not be read');
      }
      if (e === undefined) {
        this.loseGap();
        return;
      }
      this.ahead.pushBack(e);
      this.gap--;
      this.gapBytes -= e.bytes;
    }
  }

  private readNext(): Entry | undefined {
    const stopAt = this.window.peekFront()?.id ?? this.nextId;
    for (;;) {
      const r = this.reader;
      if (r === undefined) return undefined;
      r.frames.end = r.segment.end; // the segment being written grows
      const step = r.frames.next();
      if (step === undefined) {
        const next = this.segments[this.segments.indexOf(r.segment) + 1];
        if (next === undefined) return undefined;
        this.seek(next, next.start);
        continue;
      }
      if (step.kind === 'damage') continue; // counted at open
      const id = bodyId(step.body);
      const skipped = bodySkipped(step.body);
      if (skipped > 0) {
        this.loadedUpTo = Math.max(this.loadedUpTo, id + skipped); // no records there
        continue;
      }
      if (id >= stopAt) return undefined; // in memory from here on
      if (id < this.loadedUpTo) continue;
      this.loadedUpTo = id + 1;
      try {
        const { message } = decodeBody(step.body, (wallMs) =>
          id < this.runStartId ? this.loadedAt : wallMs - performance.timeOrigin,
        );
        return { id, message, bytes: message.payload.length, segment: undefined, offset: 0, done: false };
      } catch (err) {
        // Checksummed but unreadable (recovery counted it as a record): forget this one.
        this.log.error('decode', { err: (err as Error).message, id }, 'spooled record could not be decoded and is lost');
        this.forgetUnread(1, bodyPayloadBytes(step.body));
      }
    }
  }

  /** Disk-only records that could not be read back (damaged since open): forget them, loudly. */
  private loseGap(): void {
    this.log.error('lost', { records: this.gap, bytes: this.gapBytes }, 'spooled records could not be read back and are lost');
    this.forgetUnread(this.gap, this.gapBytes);
  }

  private forgetUnread(records: number, bytes: number): void {
    this.held -= records;
    this.heldBytes -= bytes;
    this.gap -= records;
    this.gapBytes -= bytes;
    this.lostAfterOpen += records;
  }

  private seek(segment: Segment, offset: number): void {
    if (this.reader?.segment !== segment) {
      this.closeReader();
      const fd = fs.openSync(segment.path, 'r');
      this.reader = { segment, fd, frames: new FrameReader(fd, offset, segment.end) };
    }
    this.reader.frames.pos = offset;
  }

  private closeReader(): void {
    if (this.reader !== undefined) fs.closeSync(this.reader.fd);
    this.reader = undefined;
  }

  // ---- writing

  private write(e: Entry): boolean {
    const wallMs = performance.timeOrigin + e.message.record.receivedAt;
    try {
      // Records let go unwritten since the last write: say so, or the next start counts them as lost.
      if (e.id > this.lastWrittenId + 1) {
        const skip = this.encoder.encodeSkip(this.lastWrittenId + 1, e.id - this.lastWrittenId - 1);
        this.writer.append(skip, this.lastWrittenId + 1, e.id - 1);
        this.diskBytes += skip.length;
        this.lastWrittenId = e.id - 1;
      }
      const frame = this.encoder.encode(e.id, wallMs, e.message);
      const at = this.writer.append(frame, e.id);
      e.segment = at.segment;
      e.offset = at.offset;
      this.diskBytes += frame.length;
      this.lastWrittenId = e.id;
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      this.writeFailures++;
      this.retryAt = Date.now() + WRITE_RETRY_MS;
      this.deps.onWriteError?.(code);
      this.log.error(
        'write',
        { err: (err as Error).message, code },
        'spool write failed: records are held in memory and the write retried every second; the sink is full meanwhile',
      );
      return false;
    }
  }

  /** Writes the held-back records in order once the retry delay passed: for `sliceMs` now, the rest on later turns. */
  private retryUnwritten(sliceMs = WRITE_SLICE_MS): void {
    if (this.unwritten.length === 0 || Date.now() < this.retryAt) return;
    const until = performance.now() + sliceMs;
    for (let e = this.unwritten.peekFront(); e !== undefined; e = this.unwritten.peekFront()) {
      if (!e.done) {
        if (performance.now() >= until) {
          this.retryOnNextTurn();
          return;
        }
        if (!this.write(e)) return;
      }
      this.unwritten.popFront();
    }
    this.log.info('resumed', { writeFailures: this.writeFailures }, 'spool writes again: the records held in memory are on disk');
    this.evict();
    if (!this.closed) this.onWritable?.();
  }

  private retryOnNextTurn(): void {
    if (this.retryQueued) return;
    this.retryQueued = true;
    setImmediate(() => {
      this.retryQueued = false;
      if (!this.closed) this.retryUnwritten();
    });
  }

  /** Records settled or dropped before they were written: never written, and no longer held here. */
  private letGoUnwritten(entries: readonly Entry[]): void {
    for (const e of entries) e.done = true;
    for (let e = this.unwritten.peekFront(); e?.done === true; e = this.unwritten.peekFront()) this.unwritten.popFront();
  }

  // ---- the cursor

  private computeCursor(): number {
    let c = this.readId;
    const r = this.returned.peekFront();
    if (r !== undefined && r.id < c) c = r.id;
    for (const f of this.inFlight.values()) if (f.minId < c) c = f.minId;
    return c;
  }

  private advance(settled: boolean): void {
    const c = this.computeCursor();
    if (c <= this.cursor) return;
    this.cursor = c;
    this.deleteSettledSegments();
    if (settled && this.options.fsync === 'always') this.saveCheckpoint();
  }

  /** With 'always' synchronously (the policy's promise); otherwise in the background. */
  private saveCheckpoint(): void {
    if (this.saved === this.cursor || this.saving !== undefined) return;
    const cursor = this.cursor;
    const failed = (err: unknown) =>
      this.log.error('checkpoint', { err: (err as Error).message }, 'spool checkpoint could not be saved: a restart would repeat more records');
    if (this.options.fsync === 'always') {
      try {
        writeCheckpoint(this.options.dir, cursor, true);
        this.saved = cursor;
      } catch (err) {
        failed(err);
      }
      return;
    }
    this.saving = writeCheckpointAsync(this.options.dir, cursor, this.options.fsync === 'interval')
      .then(() => {
        this.saved = cursor;
      }, failed)
      .finally(() => {
        this.saving = undefined;
      });
  }

  /** Deletes the oldest segments once every record in them is settled. */
  private deleteSettledSegments(): void {
    for (let s = this.segments[0]; s !== undefined; s = this.segments[0]) {
      if (s === this.writer.segment || s.lastId >= this.cursor) return;
      if (this.reader?.segment === s) {
        // Records still to read are further on: continue in the next segment.
        const next = this.segments[1];
        if (next !== undefined && this.gap > 0) this.seek(next, next.start);
        else this.closeReader();
      }
      try {
        fs.rmSync(s.path, { force: true });
      } catch (err) {
        this.log.error('delete', { err: (err as Error).message, file: s.path }, 'spool segment could not be deleted');
        return;
      }
      this.segments.shift();
      this.diskBytes -= s.end;
    }
  }

  private tick(): void {
    this.retryUnwritten();
    this.writer.syncInBackground();
    this.saveCheckpoint();
  }
}
