import fs from 'node:fs';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, MAX_BODY_BYTES, bodyId, checkFrame } from './format.js';

/** One step through a segment: a whole, checksummed frame, or a stretch of damage before the next one. */
export type Step =
  | { kind: 'frame'; offset: number; size: number; body: Buffer }
  | { kind: 'damage'; offset: number; size: number; /** Runs to the end of the data: a torn tail. */ tail: boolean };

const CHUNK = 1 << 20;

/**
 * Reads frames sequentially from one segment file through a 1 MiB window, so a scan
 * or a catch-up costs one read(2) per MiB, and memory stays one window per reader.
 * Damage (a bad checksum, a torn or zeroed tail, garbage) is skipped by searching for
 * the next frame magic whose frame checks out.
 */
export class FrameReader {
  private buf = Buffer.allocUnsafe(CHUNK);
  private bufAt = 0;
  private bufLen = 0;

  /**
   * @param fd open for reading; the caller closes it
   * @param pos where the next frame starts
   * @param end where the data ends (the file size, or the writer's position)
   */
  constructor(
    private readonly fd: number,
    public pos: number,
    public end: number,
  ) {}

  /**
   * The next frame or damage; undefined at the end. A frame's body is a view into the
   * reader's window, valid until the next call.
   */
  next(): Step | undefined {
    if (this.pos >= this.end) return undefined;
    const start = this.pos;
    const body = this.frameAt(start);
    if (body !== undefined) {
      const size = FRAME_HEADER_BYTES + body.length;
      this.pos = start + size;
      return { kind: 'frame', offset: start, size, body };
    }
    for (let at = start + 1; ; at++) {
      at = this.findMagic(at);
      if (at >= this.end) {
        this.pos = this.end;
        return { kind: 'damage', offset: start, size: this.end - start, tail: true };
      }
      if (this.frameAt(at) !== undefined) {
        this.pos = at;
        return { kind: 'damage', offset: start, size: at - start, tail: false };
      }
    }
  }

  /**
   * The frames that begin in a torn tail [from, end): each frame header found there (the
   * magic and a plausible length) is a record whose write did not complete. Its id when
   * enough of the body survived. A tail of zeros (space allocated, never written) has none.
   */
  tornFrames(from: number): Array<number | undefined> {
    const ids: Array<number | undefined> = [];
    for (let at = this.findMagic(from); at < this.end; at = this.findMagic(at)) {
      const len = this.load(at, 8) ? this.buf.readUInt32LE(at - this.bufAt + 4) : undefined;
      if (len !== undefined && (len < 17 || len > MAX_BODY_BYTES)) {
        at++;
        continue;
      }
      ids.push(this.load(at, FRAME_HEADER_BYTES + 8) ? bodyId(this.buf.subarray(at - this.bufAt + FRAME_HEADER_BYTES)) : undefined);
      if (len === undefined) break; // cut inside the header: nothing after it
      at += FRAME_HEADER_BYTES + len;
    }
    return ids;
  }

  /** Makes bytes [at, at + n) readable in the window; false if they are not all there. */
  private load(at: number, n: number): boolean {
    if (at + n > this.end) return false;
    if (at >= this.bufAt && at + n <= this.bufAt + this.bufLen) return true;
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    const want = Math.min(this.buf.length, this.end - at);
    let got = 0;
    while (got < want) {
      const r = fs.readSync(this.fd, this.buf, got, want - got, at + got);
      if (r === 0) break;
      got += r;
    }
    this.bufAt = at;
    this.bufLen = got;
    return got >= n;
  }

  private frameAt(at: number): Buffer | undefined {
    if (!this.load(at, FRAME_HEADER_BYTES)) return undefined;
    let o = at - this.bufAt;
    if (this.buf.compare(FRAME_MAGIC, 0, FRAME_MAGIC.length, o, o + FRAME_MAGIC.length) !== 0) return undefined;
    const len = this.buf.readUInt32LE(o + 4);
    if (at + FRAME_HEADER_BYTES + len > this.end) return undefined;
    if (!this.load(at, FRAME_HEADER_BYTES + len)) return undefined;
    o = at - this.bufAt;
    const bodyLen = checkFrame(this.buf, o, this.bufLen - o);
    return bodyLen < 0 ? undefined : this.buf.subarray(o + FRAME_HEADER_BYTES, o + FRAME_HEADER_BYTES + bodyLen);
  }

  /** Offset of the next frame magic at or after `from`, or `end`. */
  private findMagic(from: number): number {
    for (;;) {
      if (from + FRAME_MAGIC.length > this.end || !this.load(from, FRAME_MAGIC.length)) return this.end;
      const window = this.buf.subarray(0, this.bufLen);
      const i = window.indexOf(FRAME_MAGIC, from - this.bufAt);
      if (i >= 0) return this.bufAt + i;
      // Not in this window: continue from its last bytes, in case a magic straddles the edge.
      from = this.bufAt + this.bufLen - (FRAME_MAGIC.length - 1);
    }
  }
}
