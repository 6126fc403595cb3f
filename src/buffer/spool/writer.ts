import fs from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_FILE, encodeCheckpoint, segmentHeader, segmentName, SEGMENT_HEADER_BYTES } from './format.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

/** One segment file as the store knows it. */
export interface Segment {
  readonly number: number;
  readonly path: string;
  /** Where its frames begin: after the header, or at 0 when the header was damaged. */
  readonly start: number;
  /** Bytes of data: the file size, or the writer's position in the segment being written. */
  end: number;
  /** Ids of the first and last readable records in it; -1 when it holds none. */
  firstId: number;
  lastId: number;
}

/** An open file whose close waits for an fsync still running on it (its number must not be reused meanwhile). */
interface Handle {
  readonly fd: number;
  syncs: number;
  closing: boolean;
}

/**
 * Appends frames to the newest segment, rolling to a new one at `segmentBytes`, and
 * applies the fsync policy. Every append is one write(2) before it returns, so a dead
 * process (SIGKILL, crash) loses nothing appended: the data is in the kernel's page
 * cache. fsync only decides what survives a kernel crash or power cut:
 *   always   fdatasync(2) after every append, before it returns
 *   interval fdatasync(2) every fsyncIntervalMs (off the event loop), and at a roll
 *   never    the kernel writes back when it likes (Linux: within ~30 s by default)
 */
export class SegmentWriter {
  private handle: Handle | undefined;
  private current: Segment | undefined;
  private dirty = false;
  /** After a failed write the segment's tail is suspect: the next append starts a new one. */
  private broken = false;
  private readonly syncs = new Set<Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly policy: FsyncPolicy,
    private nextNumber: number,
    private readonly onSegment: (segment: Segment) => void,
    private readonly onSyncError: (err: Error) => void,
  ) {}

  get segment(): Segment | undefined {
    return this.current;
  }

  /** Writes one frame whose ids run from `id` to `lastId`; throws if it could not (the segment is then left as it was, if possible). */
  append(frame: Buffer, id: number, lastId = id): { segment: Segment; offset: number } {
    let seg = this.current;
    if (
      seg === undefined ||
      this.broken ||
      (seg.lastId >= 0 && seg.end + frame.length > this.segmentBytes)
    ) {
      seg = this.roll();
    }
    const h = this.handle as Handle;
    const offset = seg.end;
    try {
      writeAll(h.fd, frame, offset);
      if (this.policy === 'always') fs.fdatasyncSync(h.fd);
    } catch (err) {
      this.broken = true;
      try {
        fs.ftruncateSync(h.fd, offset);
      } catch {
        // The next start reads the partial frame as a torn tail and skips it.
      }
      throw err;
    }
    seg.end += frame.length;
    if (seg.firstId < 0) seg.firstId = id;
    seg.lastId = lastId;
    this.dirty = this.policy !== 'always';
    return { segment: seg, offset };
  }

  /** The interval policy's tick: fdatasync what was written since the last one, off the event loop. */
  syncInBackground(): void {
    if (this.policy !== 'interval' || !this.dirty || this.handle === undefined) return;
    if (this.handle.syncs > 0) return; // the one running covers most of it; the next tick the rest
    this.dirty = false;
    this.startSync(this.handle);
  }

  /** Waits for background fsyncs, then makes everything written durable (all policies), and closes. */
  async close(): Promise<void> {
    await Promise.all(this.syncs);
    const h = this.handle;
    this.handle = undefined;
    this.current = undefined;
    if (h === undefined) return;
    try {
      fs.fdatasyncSync(h.fd);
    } finally {
      fs.closeSync(h.fd);
    }
  }

  private roll(): Segment {
    const old = this.handle;
    if (old !== undefined) {
      old.closing = true;
      if (this.policy === 'interval' && this.dirty) this.startSync(old);
      if (old.syncs === 0) fs.closeSync(old.fd);
      this.handle = undefined;
      this.current = undefined;
      this.dirty = false;
    }
    const number = this.nextNumber++;
    const path = join(this.dir, segmentName(number));
    const fd = fs.openSync(path, 'wx');
    try {
      writeAll(fd, segmentHeader(), 0);
      if (this.policy === 'always') fs.fdatasyncSync(fd);
      // The new name must survive a power cut too, or the data fsynced into it is unreachable.
      if (this.policy !== 'never') syncDir(this.dir);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(path, { force: true });
      throw err;
    }
    this.handle = { fd, syncs: 0, closing: false };
    this.broken = false;
    const seg: Segment = { number, path, start: SEGMENT_HEADER_BYTES, end: SEGMENT_HEADER_BYTES, firstId: -1, lastId: -1 };
    this.current = seg;
    this.onSegment(seg);
    return seg;
  }

  private startSync(h: Handle): void {
    h.syncs++;
    const p = new Promise<void>((resolve) => {
      fs.fdatasync(h.fd, (err) => {
        if (err) this.onSyncError(err);
        h.syncs--;
        if (h.closing && h.syncs === 0) fs.close(h.fd, () => {});
        resolve();
      });
    });
    this.syncs.add(p);
    void p.then(() => this.syncs.delete(p));
  }
}

function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces the checkpoint atomically: a reader sees the old one or the new one, never
 * a mix. Without `durable` a power cut may bring back the old one: duplicates, no loss.
 */
export function writeCheckpoint(dir: string, cursor: number, durable: boolean): void {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    writeAll(fd, encodeCheckpoint(cursor), 0);
    if (durable) fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, join(dir, CHECKPOINT_FILE));
}

/** writeCheckpoint off the event loop (an fsync may wait for a journal commit). Never two at once. */
export async function writeCheckpointAsync(dir: string, cursor: number, durable: boolean): Promise<void> {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const file = await fs.promises.open(tmp, 'w');
  try {
    await file.writeFile(encodeCheckpoint(cursor));
    if (durable) await file.datasync();
  } finally {
    await file.close();
  }
  await fs.promises.rename(tmp, join(dir, CHECKPOINT_FILE));
}
