import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  FRAME_HEADER_BYTES,
  FrameEncoder,
  bodyId,
  bodyPayloadBytes,
  checkFrame,
  crc32,
  decodeBody,
  decodeCheckpoint,
  encodeCheckpoint,
  segmentName,
  segmentNumber,
} from '../../../../src/buffer/spool/format.js';
import { FrameReader, type Step } from '../../../../src/buffer/spool/reader.js';
import type { OutboundMessage } from '../../../../src/record.js';
import { message } from '../../../helpers/records.js';

type WithHeaders = OutboundMessage & { headers?: Record<string, string> };

function roundTrip(m: OutboundMessage, id = 7): WithHeaders {
  const frame = new FrameEncoder().encode(id, 1_700_000_000_123.5, m);
  assert.equal(checkFrame(frame, 0, frame.length), frame.length - FRAME_HEADER_BYTES);
  const body = frame.subarray(FRAME_HEADER_BYTES);
  assert.equal(bodyId(body), id);
  assert.equal(bodyPayloadBytes(body), m.payload.length);
  const d = decodeBody(body, (wallMs) => wallMs - 1_700_000_000_000);
  assert.equal(d.id, id);
  assert.equal(d.message.record.receivedAt, 123.5);
  return d.message as WithHeaders;
}

test('crc32: the standard CRC-32 (its check value), continued over pieces', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff));
  assert.equal(crc32(data.subarray(100), crc32(data.subarray(0, 100))), crc32(data));
});

test('a record survives encoding with every field: sender, routing key, key, headers, tagged JSON', () => {
  const json = Buffer.from('{"ts":1.5,"uid":"Cx\u00e9"}');
  const payload = Buffer.concat([Buffer.from('{"conn":'), json, Buffer.from('}')]);
  const m: WithHeaders = {
    record: { path: 'conn', json, sender: 'worker-1', ingress: 'pull', receivedAt: 0 },
    payload,
    address: { target: 'zeek', routingKey: 'zeek.conn', key: Buffer.from([0, 0xf5, 0x5a, 0x53, 0xf8, 255]) },
    headers: { 'zeek-dead-letter-reason': 'too-large', x: '\u2603' },
  };
  const back = roundTrip(m, 2 ** 40 + 3);
  assert.deepEqual(back.payload, payload);
  assert.deepEqual(back.record.json, json);
  assert.equal(back.record.path, 'conn');
  assert.equal(back.record.sender, 'worker-1');
  assert.equal(back.record.ingress, 'pull');
  assert.deepEqual(back.address, m.address);
  assert.deepEqual(back.headers, m.headers);
});

test('optional fields stay absent; a null key stays null; raw and unrelated JSON round-trip', () => {
  const raw = message('dns', '{"a":1}');
  const back = roundTrip(raw);
  assert.equal(back.record.sender, undefined);
  assert.deepEqual(back.address, { target: 'dns' });
  assert.equal('headers' in back, false);
  assert.deepEqual(back.record.json, raw.payload);

  const nullKey: OutboundMessage = { ...raw, address: { target: 't', key: null } };
  assert.deepEqual(roundTrip(nullKey).address, { target: 't', key: null });

  const other: OutboundMessage = { ...raw, record: { ...raw.record, json: Buffer.from('{"b":2}') } };
  assert.equal(roundTrip(other).record.json.toString(), '{"b":2}');

  const big = message('x509', `"${'y'.repeat(200_000)}"`);
  assert.deepEqual(roundTrip(big).payload, big.payload);
});

test('a flipped bit anywhere in a frame, or a cut, fails its checksum', () => {
  const frame = Buffer.from(new FrameEncoder().encode(1, 0, message('conn', '{"n":1}')));
  for (let i = 0; i < frame.length; i++) {
    const bad = Buffer.from(frame);
    bad[i] = (bad[i] as number) ^ 0x10;
    assert.equal(checkFrame(bad, 0, bad.length), -1, `byte ${i}`);
  }
  assert.equal(checkFrame(frame, 0, frame.length - 1), -1);
});

test('checkpoint: round trip, and any damage is detected', () => {
  const b = encodeCheckpoint(2 ** 45 + 17);
  assert.equal(decodeCheckpoint(b), 2 ** 45 + 17);
  for (let i = 0; i < b.length; i++) {
    const bad = Buffer.from(b);
    bad[i] = (bad[i] as number) ^ 1;
    assert.equal(decodeCheckpoint(bad), undefined);
  }
  assert.equal(decodeCheckpoint(b.subarray(0, 10)), undefined);
});

test('segment names sort and parse; other names are not segments', () => {
  assert.equal(segmentName(42), '0000000000000042.seg');
  assert.equal(segmentNumber(segmentName(42)), 42);
  assert.equal(segmentNumber('0000000000000042.seg.bak'), undefined);
  assert.equal(segmentNumber('notes.txt'), undefined);
});

function steps(file: string, start = 0): Step[] {
  const fd = fs.openSync(file, 'r');
  try {
    const r = new FrameReader(fd, start, fs.fstatSync(fd).size);
    const out: Step[] = [];
    for (let s = r.next(); s !== undefined; s = r.next()) out.push(s.kind === 'frame' ? { ...s, body: Buffer.from(s.body) } : s);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

test('reader: resynchronises after garbage, reports a torn tail, finds frames across its 1 MiB window', () => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'spool-format-'));
  try {
    const enc = new FrameEncoder();
    const frame = (id: number, size = 10): Buffer => Buffer.from(enc.encode(id, 0, message('conn', 'x'.repeat(size))));
    const file = join(dir, 'f');
    // Frames of 100 KiB so that some straddle the reader's window edge.
    // Garbage with a false magic (its frame fails), then frames, then 1.5 MiB of zeros (a
    // power cut's unwritten blocks) before more frames, the last one torn.
    const garbage = Buffer.from('garbage\xf5ZS\xf8\x05\x00\x00\x00junk\xf5Z', 'latin1');
    const zeros = Buffer.alloc(1_500_000 + 3);
    const parts = [frame(0), garbage, frame(1)];
    for (let i = 2; i < 14; i++) parts.push(frame(i, 100_000));
    parts.push(zeros, frame(14));
    const last = frame(15);
    parts.push(last.subarray(0, last.length - 3));
    fs.writeFileSync(file, Buffer.concat(parts));
    const got = steps(file);
    const ids = got.flatMap((s) => (s.kind === 'frame' ? [bodyId(s.body)] : []));
    assert.deepEqual(ids, Array.from({ length: 15 }, (_, i) => i));
    const damage = got.filter((s) => s.kind === 'damage');
    assert.deepEqual(
      damage.map((d) => [d.size, d.kind === 'damage' && d.tail]),
      [
        [garbage.length, false],
        [zeros.length, false],
        [last.length - 3, true],
      ],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
