import fs from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../ops/log.js';
import {
  CHECKPOINT_FILE,
  SEGMENT_HEADER_BYTES,
  bodyId,
  bodyPayloadBytes,
  decodeCheckpoint,
  segmentNumber,
  validSegmentHeader,
} from './format.js';
import { FrameReader } from './reader.js';
import type { Segment } from './writer.js';

/** What recovery found wrong with one file; reported once per file. */
export interface SpoolDamage {
  /** Segment file name, or `checkpoint`. */
  file: string;
  /** Unreadable stretches skipped (a bad checksum, a torn tail, garbage, a bad header). */
  regions: number;
  bytes: number;
  /** Records known to be missing: gaps in the record ids, after the cursor. At least this many. */
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

/**
 * Scans a spool directory: every frame's checksum is verified, damage is skipped and
 * counted, and nothing makes the spool refuse to open. Files that are not ours are
 * left alone.
 */
export function recover(dir: string, logger: Logger): Recovered {
  fs.mkdirSync(dir, { recursive: true });
  const numbered: Array<{ name: string; number: number }> = [];
  const foreign: string[] = [];
  let checkpointBytes: Buffer | undefined;
  for (const name of fs.readdirSync(dir)) {
    const number = segmentNumber(name);
    if (number !== undefined) numbered.push({ name, number });
    else if (name === CHECKPOINT_FILE) checkpointBytes = fs.readFileSync(join(dir, name));
    else if (name === `${CHECKPOINT_FILE}.tmp`) fs.rmSync(join(dir, name), { force: true });
    else foreign.push(name);
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
    try {
      const size = fs.fstatSync(fd).size;
      const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
      const headerOk = fs.readSync(fd, header, 0, header.length, 0) === header.length && validSegmentHeader(header);
      segment = { number, path, start: headerOk ? SEGMENT_HEADER_BYTES : 0, end: size, firstId: -1, lastId: -1 };
      const reader = new FrameReader(fd, segment.start, size);
      for (let step = reader.next(); step !== undefined; step = reader.next()) {
        if (step.kind === 'damage') {
          d.regions++;
          d.bytes += step.size;
          d.tornTail ||= step.tail;
          continue;
        }
        const id = bodyId(step.body);
        if (id <= prevId) continue; // not newer than what came before: stale, never delivered twice
        let payloadBytes: number;
        try {
          payloadBytes = bodyPayloadBytes(step.body);
        } catch {
          d.regions++; // checksummed but not a record we can read: a foreign or future writer
          d.bytes += step.size;
          continue;
        }
        if (prevId >= 0 && id > prevId + 1) d.lostRecords += Math.max(0, id - Math.max(prevId + 1, cursor));
        prevId = id;
        if (segment.firstId < 0) segment.firstId = id;
        segment.lastId = id;
        out.maxId = id;
        if (id < cursor) continue;
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
    if (segment !== undefined) out.segments.push(segment);
    if (d.regions > 0 || d.lostRecords > 0) {
      damage.push(d);
      logger.warn(
        { file: path, damagedStretches: d.regions, damagedBytes: d.bytes, lostRecords: d.lostRecords, tornTail: d.tornTail },
        'spool segment is damaged: its good records are kept, the damaged parts skipped',
      );
    }
  }
  return out;
}
