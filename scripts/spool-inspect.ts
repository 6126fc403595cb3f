// Shows what a sink's disk spool holds, read-only (safe while the gateway runs):
// the checkpoint, each segment's records and id range, what is still to be delivered,
// and every damaged stretch (offset, size, torn tail).
// Usage: node --import tsx scripts/spool-inspect.ts <spool dir of one sink> [--records] [--max 20]
import fs from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CHECKPOINT_FILE,
  SEGMENT_HEADER_BYTES,
  bodyId,
  bodySkipped,
  decodeBody,
  decodeCheckpoint,
  segmentNumber,
  validSegmentHeader,
} from '../src/buffer/spool/format.js';
import { FrameReader } from '../src/buffer/spool/reader.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { records: { type: 'boolean', default: false }, max: { type: 'string', default: '20' } },
});
const dir = positionals[0];
if (dir === undefined) {
  console.error('usage: spool-inspect <spool dir> [--records] [--max N]');
  process.exit(2);
}
const maxShown = Number(values.max);

const names = fs.readdirSync(dir).sort();
const cpPath = join(dir, CHECKPOINT_FILE);
const cursor = fs.existsSync(cpPath) ? decodeCheckpoint(fs.readFileSync(cpPath)) : undefined;
console.log(
  `checkpoint: ${!fs.existsSync(cpPath) ? 'none (delivery starts at the oldest segment)' : cursor === undefined ? 'DAMAGED' : `cursor ${cursor}`}`,
);
const foreign = names.filter((n) => segmentNumber(n) === undefined && !n.startsWith(CHECKPOINT_FILE));
if (foreign.length > 0) console.log(`not spool files (ignored): ${foreign.join(', ')}`);

const total = { records: 0, pending: 0, damaged: 0, damagedBytes: 0, bytes: 0 };
for (const name of names.filter((n) => segmentNumber(n) !== undefined)) {
  const fd = fs.openSync(join(dir, name), 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
    const headerOk = fs.readSync(fd, header, 0, header.length, 0) === header.length && validSegmentHeader(header);
    const reader = new FrameReader(fd, headerOk ? SEGMENT_HEADER_BYTES : 0, size);
    let records = 0;
    let pending = 0;
    let first = -1;
    let last = -1;
    const damage: string[] = [];
    const shown: string[] = [];
    for (let step = reader.next(); step !== undefined; step = reader.next()) {
      if (step.kind === 'damage') {
        damage.push(`@${step.offset} ${step.size} bytes${step.tail ? ' (torn tail)' : ''}`);
        total.damagedBytes += step.size;
        continue;
      }
      const id = bodyId(step.body);
      const skipped = bodySkipped(step.body);
      if (skipped > 0) {
        // Ids let go unwritten (delivered or dropped while the disk refused writes).
        if (shown.length < maxShown) shown.push(`    ids ${id}..${id + skipped - 1}: delivered or dropped before they could be written`);
        continue;
      }
      records++;
      if (first < 0) first = id;
      last = id;
      if (id >= (cursor ?? 0)) pending++;
      if (values.records && shown.length < maxShown) {
        const { message: m } = decodeBody(step.body, () => 0);
        const to = [m.address.target, m.address.routingKey].filter((x) => x !== undefined).join(' / ');
        shown.push(`    #${id} ${m.record.path} -> ${to} (${m.payload.length} B): ${m.payload.toString('utf8', 0, 100)}`);
      }
    }
    total.records += records;
    total.pending += pending;
    total.damaged += damage.length;
    total.bytes += size;
    const ids = records > 0 ? `ids ${first}..${last}` : 'no readable records';
    console.log(`${name}: ${size} bytes, ${records} records, ${ids}, ${pending} to deliver${headerOk ? '' : ', DAMAGED HEADER'}`);
    for (const d of damage) console.log(`  damaged ${d}`);
    for (const s of shown) console.log(s);
  } finally {
    fs.closeSync(fd);
  }
}
console.log(
  `total: ${total.bytes} bytes, ${total.records} records, ${total.pending} to deliver, ` +
    `${total.damaged} damaged stretches (${total.damagedBytes} bytes)`,
);
