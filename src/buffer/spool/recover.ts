import fs from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../ops/log.js';
import {
  CHECKPOINT_FILE,
  SEGMENT_HEADER_BYTES,
  bodyId,
  bodyPayloadBytes,
  bodySkipped,
  decodeCheckpoint,
  segmentNumber,
  validSegmentHeader,
} from './format.js';
import { FrameReader } from './reader.js';
import { isMarkerFile } from './marker.js';
import type { Segment } from './writer.js';

/** What recovery found wrong with one file; reported once per file. */
export interface SpoolDamage {
  /** Segment file name, or `checkpoint`. */
  file: string;
  /** Unreadable stretches skipped (a bad checksum, a torn tail, garbage, a bad header). */
  regions: number;
  bytes: number;
  /** Records known to be missing, after the cursor: gaps in the record ids, frames begun in a torn tail. At least this many. */
  lostRecords: number;
  /** The file ends in an incomplete or zeroed frame (a crash or power cut while writing). */
  tornTail: boolean;
}

export interface Recovered {
  /** Readable segments, oldest first. */
  segments: Segment[];
  /** Oldest record id not settled: from the checkpoint, or 0 (everything readable) without one. */
  cursor: number;
  checkpointFound: boolean;
  /** Readable records at or after the cursor, and their payload bytes. */
  records: number;
  bytes: number;
  /** Where the first of them is. */
  first: { segment: Segment; offset: number } | undefined;
  /** Highest readable record id; -1 if none. */
  maxId: number;
  nextSegmentNumber: number;
  damage: SpoolDamage[];
}

/** Longest stretch of reading and checksumming before the scan yields to the event loop. */
const YIELD_AFTER_MS = 10;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Scans a spool directory: every frame's checksum is verified, damage is skipped and
 * counted, and nothing makes the spool refuse to open. Files that are not ours are
 * left alone. Yields to the event loop every few milliseconds: a full spool takes seconds.
 *
 * Records known lost: gaps in the ids of readable records, and the frames begun in a
 * torn tail after the last readable record (a tail of zeros, allocated but never
 * written, holds none). Torn tails are cut off, so that the next start does not count
 * them again (the file is never appended to again: a new run starts a new segment).
 */
export async function recover(dir: string, logger: Logger): Promise<Recovered> {
  fs.mkdirSync(dir, { recursive: true });
  const numbered: Array<{ name: string; number: number }> = [];
  const foreign: string[] = [];
  let checkpointBytes: Buffer | undefined;
  for (const name of fs.readdirSync(dir)) {
    const number = segmentNumber(name);
    if (number !== undefined) numbered.push({ name, number });
    else if (name === CHECKPOINT_FILE) checkpointBytes = fs.readFileSync(join(dir, name));
    else if (name === `${CHECKPOINT_FILE}.tmp`) fs.rmSync(join(dir, name), { force: true });
    else if (!isMarkerFile(name)) foreign.push(name); // the backlog marker is read by openSpoolWithBacklog
  }
  if (foreign.length > 0) logger.warn({ dir, files: foreign }, 'spool directory holds files that are not the spool’s; left alone');
  numbered.sort((a, b) => a.number - b.number);

  const damage: SpoolDamage[] = [];
  let cursor = checkpointBytes === undefined ? undefined : decodeCheckpoint(checkpointBytes);
  if (checkpointBytes !== undefined && cursor === undefined) {
    damage.push({ file: CHECKPOINT_FILE, regions: 1, bytes: checkpointBytes.length, lostRecords: 0, tornTail: false });
    logger.warn({ dir }, 'spool checkpoint is damaged: delivering from the oldest segment (records already delivered may repeat)');
  } else if (checkpointBytes === undefined && numbered.length > 0) {
    logger.info({ dir }, 'spool has no checkpoint: delivering from the oldest segment (records already delivered may repeat)');
  }
  const checkpointFound = cursor !== undefined;
  cursor ??= 0;

  const out: Recovered = {
    segments: [],
    cursor,
    checkpointFound,
    records: 0,
    bytes: 0,
    first: undefined,
    maxId: -1,
    nextSegmentNumber: (numbered.at(-1)?.number ?? 0) + 1,
    damage,
  };
  let prevId = -1;
  let yieldAt = performance.now() + YIELD_AFTER_MS;
  // Frames begun in torn tails since the last readable record, with their (known or next) ids.
  let torn: Array<{ damage: SpoolDamage; id: number }> = [];
  const damaged: Array<{ path: string; damage: SpoolDamage }> = [];
  for (const { name, number } of numbered) {
    const path = join(dir, name);
    const d: SpoolDamage = { file: name, regions: 0, bytes: 0, lostRecords: 0, tornTail: false };
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      logger.error({ file: path, err: (err as Error).message }, 'spool segment cannot be opened; left alone');
      continue;
    }
    let segment: Segment | undefined;
    let tailAt: number | undefined;
    try {
      const size = fs.fstatSync(fd).size;
      const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
      const headerOk = fs.readSync(fd, header, 0, header.length, 0) === header.length && validSegmentHeader(header);
      segment = { number, path, start: headerOk ? SEGMENT_HEADER_BYTES : 0, end: size, firstId: -1, lastId: -1 };
      const reader = new FrameReader(fd, segment.start, size);
      for (let step = reader.next(); step !== undefined; step = reader.next()) {
        if (performance.now() >= yieldAt) {
          await yieldToEventLoop();
          yieldAt = performance.now() + YIELD_AFTER_MS;
        }
        if (step.kind === 'damage') {
          d.regions++;
          d.bytes += step.size;
          if (step.tail) {
            d.tornTail = true;
            tailAt = step.offset;
            let id = prevId;
            for (const known of reader.tornFrames(step.offset)) torn.push({ damage: d, id: (id = known ?? id + 1) });
          }
          continue;
        }
        const id = bodyId(step.body);
        if (id <= prevId) continue; // not newer than what came before: stale, never delivered twice
        let skipped: number;
        let payloadBytes: number;
        try {
          skipped = bodySkipped(step.body);
          payloadBytes = skipped > 0 ? 0 : bodyPayloadBytes(step.body);
        } catch {
          d.regions++; // checksummed but not a record we can read: a foreign or future writer
          d.bytes += step.size;
          continue;
        }
        if (prevId >= 0 && id > prevId + 1) d.lostRecords += Math.max(0, id - Math.max(prevId + 1, cursor));
        const lastId = id + Math.max(1, skipped) - 1;
        prevId = lastId;
        torn = []; // behind a readable record: lost ones show as a gap in the ids, counted above
        if (segment.firstId < 0) segment.firstId = id;
        segment.lastId = lastId;
        out.maxId = lastId;
        if (skipped > 0 || id < cursor) continue;
        out.records++;
        out.bytes += payloadBytes;
        out.first ??= { segment, offset: step.offset };
      }
    } catch (err) {
      // An I/O error part way: what was read stands; the rest of the file counts as damage.
      logger.error({ file: path, err: (err as Error).message }, 'spool segment could not be read to its end');
      d.regions++;
    } finally {
      fs.closeSync(fd);
    }
    if (segment !== undefined && tailAt !== undefined) segment.end = cutTornTail(path, tailAt, segment.end, logger);
    if (segment !== undefined) out.segments.push(segment);
    if (d.regions > 0 || d.lostRecords > 0) {
      damage.push(d);
      damaged.push({ path, damage: d });
    }
  }
  // Torn after the last readable record: lost unless delivered before (behind the cursor).
  for (const t of torn) if (t.id > out.maxId && t.id >= cursor) t.damage.lostRecords++;
  for (const { path, damage: d } of damaged) {
    logger.warn(
      { file: path, damagedStretches: d.regions, damagedBytes: d.bytes, lostRecords: d.lostRecords, tornTail: d.tornTail },
      'spool segment is damaged: its good records are kept, the damaged parts skipped',
    );
  }
  return out;
}

/** Cuts a segment's torn tail off; its new end (the old one if the cut failed: it is then reported again next time). */
function cutTornTail(path: string, at: number, end: number, logger: Logger): number {
  try {
    fs.truncateSync(path, at);
    return at;
  } catch (err) {
    logger.warn({ file: path, err: (err as Error).message }, 'spool segment’s torn tail could not be cut off');
    return end;
  }
}
