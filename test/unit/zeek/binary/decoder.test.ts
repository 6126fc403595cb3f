import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZeekBinV1Decoder } from '../../../../src/zeek/binary/bin-v1.js';
import { decodeLogWriteMessage } from '../../../../src/zeek/binary/log-write.js';
import type { BatchResult, DecodeOptions, RejectReason, TimestampMode, ZeekBatch } from '../../../../src/zeek/types.js';
import { Wire, fromHexDump, logWriteFrames } from './encode.js';

// Spec §5: the 322-byte worked example, exactly as printed.
const WORKED_EXAMPLE = fromHexDump(`
0000  00 00 00 0c 45 78 61 6d 70 6c 65 3a 3a 4c 4f 47  ....Example::LOG
0010  00 00 00 11 4c 6f 67 3a 3a 57 52 49 54 45 52 5f  ....Log::WRITER_
0020  41 53 43 49 49 00 00 00 07 64 65 66 61 75 6c 74  ASCII....default
0030  00 00 00 07 65 78 61 6d 70 6c 65 00 00 00 07 00  ....example.....
0040  00 00 00 02 74 73 00 00 00 05 00 00 00 00 00 00  ....ts..........
0050  00 00 00 09 69 64 2e 6f 72 69 67 5f 68 00 00 00  ....id.orig_h...
0060  0b 00 00 00 00 00 00 00 00 00 09 69 64 2e 72 65  ...........id.re
0070  73 70 5f 70 00 00 00 0a 00 00 00 00 00 00 00 00  sp_p............
0080  00 03 6e 65 74 00 00 00 0c 00 00 00 00 00 00 00  ..net...........
0090  00 00 03 73 76 63 00 00 00 0e 00 00 00 07 00 00  ...svc..........
00a0  00 00 00 04 6e 6f 74 65 00 00 00 07 00 00 00 00  ....note........
00b0  01 00 00 00 00 01 6e 00 00 00 03 00 00 00 00 00  ......n.........
00c0  00 00 00 01 00 00 00 05 00 00 00 00 01 41 d9 54  .............A.T
00d0  fc 40 20 00 00 00 00 00 0b 00 00 00 00 01 04 0a  .@ .............
00e0  00 00 01 00 00 00 0a 00 00 00 00 01 00 00 00 00  ................
00f0  00 00 00 35 00 00 00 02 00 00 00 0c 00 00 00 00  ...5............
0100  01 68 04 0a 00 00 00 00 00 00 0e 00 00 00 00 01  .h..............
0110  00 00 00 00 00 00 00 01 00 00 00 07 00 00 00 00  ................
0120  01 00 00 00 03 64 6e 73 00 00 00 07 00 00 00 00  .....dns........
0130  00 00 00 00 03 00 00 00 00 01 00 00 00 00 00 00  ................
0140  00 03                                            ..
`);

function ok(r: BatchResult): ZeekBatch {
  if (!r.ok) assert.fail(`rejected: ${r.reason}: ${r.detail}`);
  return r.batch;
}

function lines(payload: Buffer, opts: DecodeOptions = {}): string[] {
  return ok(new ZeekBinV1Decoder().decode(payload, opts)).records.map((b) => b.toString('utf8'));
}

function rejects(payload: Buffer, reason: RejectReason, opts: DecodeOptions = {}): void {
  const r = new ZeekBinV1Decoder().decode(payload, opts);
  assert.equal(r.ok, false, 'expected a rejection');
  if (!r.ok) assert.equal(r.reason, reason, r.detail);
}

test('spec §5 worked example: header, schema and the exact JSON line', () => {
  assert.equal(WORKED_EXAMPLE.length, 322);
  const r = decodeLogWriteMessage(logWriteFrames(WORKED_EXAMPLE, 'zeromq_worker-1_sensor1_4242_NxXxXxXx'));
  assert.ok(r.ok);
  assert.equal(r.sender, 'zeromq_worker-1_sensor1_4242_NxXxXxXx');
  const b = r.batch;
  assert.deepEqual([b.stream, b.writer, b.filter, b.path, b.trailingBytes], ['Example::LOG', 'Log::WRITER_ASCII', 'default', 'example', 0]);
  assert.deepEqual(
    b.fields.map((f) => [f.name, f.type, f.subtype, f.optional]),
    [
      ['ts', 5, 0, false],
      ['id.orig_h', 11, 0, false],
      ['id.resp_p', 10, 0, false],
      ['net', 12, 0, false],
      ['svc', 14, 7, false],
      ['note', 7, 0, true],
      ['n', 3, 0, false],
    ],
  );
  assert.deepEqual(
    b.records.map((x) => x.toString()),
    ['{"ts":1700000000.5,"id.orig_h":"10.0.0.1","id.resp_p":53,"net":"10.0.0.0/8","svc":["dns"],"n":3}'],
  );
});

test('spec §5 variants: include unset fields, ISO8601, millis', () => {
  assert.deepEqual(lines(WORKED_EXAMPLE, { includeUnsetFields: true }), [
    '{"ts":1700000000.5,"id.orig_h":"10.0.0.1","id.resp_p":53,"net":"10.0.0.0/8","svc":["dns"],"note":null,"n":3}',
  ]);
  assert.match(lines(WORKED_EXAMPLE, { timestamps: 'iso8601' })[0]!, /^\{"ts":"2023-11-14T22:13:20\.500000Z","id\.orig_h"/);
  assert.match(lines(WORKED_EXAMPLE, { timestamps: 'millis' })[0]!, /^\{"ts":1700000000500,"id\.orig_h"/);
  assert.match(lines(WORKED_EXAMPLE, { timestamps: 'millis-unsigned' })[0]!, /^\{"ts":1700000000500,"id\.orig_h"/);
});

test("Zeek's own 116-byte round-trip vector: subtypes are ignored", () => {
  const payload = new Wire()
    .header('my-path', 'Log::UNKNOWN', 'Log::WRITER_NONE')
    .u32(1)
    .field('ts', 5, 22)
    .u32(2)
    .time(1.0)
    .time(2.0)
    .build();
  assert.equal(payload.length, 116);
  assert.deepEqual(lines(payload), ['{"ts":1.0}', '{"ts":2.0}']);
});

/** One field of the given type and one record holding `value`. */
function single(type: number, value: (w: Wire) => Wire, subtype = 0): Buffer {
  return value(new Wire().header().u32(1).field('v', type, subtype).u32(1)).build();
}

const TYPE_CASES: [number, (w: Wire) => Wire, string][] = [
    [1, (w) => w.bool(true), 'true'],
    [1, (w) => w.bool(false), 'false'],
    [1, (w) => w.vh(1).i64(7n), 'true'], // any non-zero value
    [2, (w) => w.int(-5n), '-5'],
    [2, (w) => w.int(-(2n ** 63n)), '-9223372036854775808'],
    [2, (w) => w.int(2n ** 53n + 1n), '9007199254740993'],
    [3, (w) => w.count(2n ** 64n - 1n), '18446744073709551615'],
    [3, (w) => w.count(0n), '0'],
    [4, (w) => w.double(3.14), '3.14'],
    [4, (w) => w.double(NaN), 'null'],
    [6, (w) => w.double(100, 6), '100.0'],
    [5, (w) => w.time(1700000108.927019), '1700000108.9270189'],
    [7, (w) => w.string('a\x07'), '"a\\\\x07"'],
    [9, (w) => w.string('SSH::LOG', 9), '"SSH::LOG"'],
    [17, (w) => w.string('function() {\n}', 17), '"function() {\\n}"'],
    [18, (w) => w.string('/tmp/f', 18), '"/tmp/f"'],
    [10, (w) => w.port(123, 3), '123'],
    [10, (w) => w.port(0, 0), '0'],
    [11, (w) => w.addr([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]), '"2001:db8::1:0:0:1"'],
    [12, (w) => w.subnet(0x70, [10, 1, 0, 0]), '"10.1.0.0/16"'],
    [12, (w) => w.subnet(64, [0xfd, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), '"fd00:a::/64"'],
    // IPv4 with a wire length below 96: Zeek prints (uint32)(len - 96)
    [12, (w) => w.subnet(8, [10, 0, 0, 0]), '"10.0.0.0/4294967208"'],
    [14, (w) => w.container(14, 3n).string('CC').string('BB').string('AA'), '["CC","BB","AA"]'],
    [14, (w) => w.container(14, 0n), '[]'],
    [19, (w) => w.container(19, 3n).count(0n).unset(3).count(2n), '[0,null,2]'],
    [19, (w) => w.container(19, 2n).time(1.5).double(2, 6), '[1.5,2.0]'],
];

test('every loggable type renders as Zeek does', () => {
  for (const [type, value, want] of TYPE_CASES) {
    assert.deepEqual(lines(single(type, value)), [`{"v":${want}}`], want);
  }
});

test('every loggable type in every timestamp mode: only time values change', () => {
  const times: Record<TimestampMode, [string, string]> = {
    epoch: ['1700000108.9270189', '[1.5,2.0]'],
    millis: ['1700000108927', '[1500,2.0]'],
    'millis-unsigned': ['1700000108927', '[1500,2.0]'],
    iso8601: ['"2023-11-14T22:15:08.927019Z"', '["1970-01-01T00:00:01.500000Z",2.0]'],
  };
  for (const [mode, [time, vector]] of Object.entries(times) as [TimestampMode, [string, string]][]) {
    for (const [type, value, epoch] of TYPE_CASES) {
      const want = epoch === '1700000108.9270189' ? time : epoch === '[1.5,2.0]' ? vector : epoch;
      assert.deepEqual(lines(single(type, value), { timestamps: mode }), [`{"v":${want}}`], `${mode}: ${want}`);
    }
  }
});

test('time inside containers follows the timestamps option too', () => {
  const p = single(19, (w) => w.container(19, 2n).time(0.5).time(-0.4), 5);
  assert.deepEqual(lines(p, { timestamps: 'iso8601' }), ['{"v":["1970-01-01T00:00:00.500000Z","1969-12-31T23:59:59.600000Z"]}']);
  assert.deepEqual(lines(p, { timestamps: 'millis-unsigned' }), ['{"v":[500,18446744073709551216]}']);
});

test('unset fields: omitted, or null with includeUnsetFields; a present byte other than 1 means unset', () => {
  const p = new Wire()
    .header()
    .u32(3)
    .field('a', 3)
    .field('b', 7, 0, true)
    .field('c', 3)
    .u32(2)
    .unset(3)
    .string('x')
    .count(1n)
    .count(2n)
    .i32(7)
    .i32(0)
    .u8(2) // Zeek reads only 0x01 as true
    .unset(3)
    .build();
  assert.deepEqual(lines(p), ['{"b":"x","c":1}', '{"a":2}']);
  assert.deepEqual(lines(p, { includeUnsetFields: true }), ['{"a":null,"b":"x","c":1}', '{"a":2,"b":null,"c":null}']);
  const empty = new Wire().header().u32(1).field('a', 3).u32(1).unset(3).build();
  assert.deepEqual(lines(empty), ['{}']);
});

test('field names get rapidjson escaping; a secondary name is read and kept', () => {
  const p = new Wire()
    .header()
    .u32(2)
    .u8(1)
    .str('second')
    .str('we"ird\x01')
    .i32(3)
    .i32(0)
    .u8(0)
    .field('ok', 3)
    .u32(1)
    .count(1n)
    .count(2n)
    .build();
  const b = ok(new ZeekBinV1Decoder().decode(p));
  assert.equal(b.fields[0]!.secondaryName, 'second');
  assert.equal(b.fields[0]!.name, 'we"ird\x01');
  assert.deepEqual(b.records.map(String), ['{"we\\"ird\\u0001":1,"ok":2}']);
});

test('schemas are cached by bytes and shared between batches', () => {
  const d = new ZeekBinV1Decoder();
  const a = ok(d.decode(WORKED_EXAMPLE));
  const b = ok(d.decode(WORKED_EXAMPLE));
  assert.equal(a.fields, b.fields);
  assert.ok(Object.isFrozen(a.fields) && Object.isFrozen(a.fields[0]));
  assert.deepEqual(a.records.map(String), b.records.map(String));
});

test('trailing bytes are counted, not rejected (Zeek ignores them)', () => {
  const b = ok(new ZeekBinV1Decoder().decode(Buffer.concat([WORKED_EXAMPLE, Buffer.from([1, 2, 3])])));
  assert.equal(b.trailingBytes, 3);
  assert.equal(b.records.length, 1);
});

test('records are independent views that survive the next batch', () => {
  const d = new ZeekBinV1Decoder();
  const first = ok(d.decode(single(3, (w) => w.count(1n)))).records[0]!;
  ok(d.decode(single(3, (w) => w.count(2n))));
  assert.equal(first.toString(), '{"v":1}');
});

test('rejections: every structural problem of §4.6, with its reason', () => {
  const full = single(7, (w) => w.string('hello'));
  for (let cut = 0; cut < full.length; cut++) {
    const r = new ZeekBinV1Decoder().decode(full.subarray(0, cut));
    assert.equal(r.ok, false, `cut at ${cut}`);
    if (!r.ok) assert.ok(['truncated', 'bad-length', 'bad-count'].includes(r.reason), `${cut}: ${r.reason}`);
  }
  rejects(full.subarray(0, full.length - 1), 'bad-length');
  rejects(new Wire().i32(-1).build(), 'bad-length');
  rejects(new Wire().i32(5).bytes([1, 2]).build(), 'bad-length');
  rejects(new Wire().header().build(), 'truncated');
  rejects(single(3, (w) => w.string('x')), 'type-mismatch');
  rejects(single(3, (w) => w.unset(4)), 'type-mismatch');
  rejects(single(11, (w) => w.vh(11).u8(5).bytes([1, 2, 3, 4])), 'bad-family');
  rejects(single(12, (w) => w.vh(12).u8(120).u8(0).bytes([1, 2, 3, 4])), 'bad-family');
  rejects(single(10, (w) => w.port(80, 4)), 'bad-proto');
  rejects(single(10, (w) => w.port(80, -1)), 'bad-proto');
  for (const tag of [0, 8, 13, 15, 16, 20, 21, 22, 23, -1]) rejects(single(tag, (w) => w.vh(tag).i64(0n)), 'bad-type');
  rejects(single(19, (w) => w.container(19, 1n).vh(8).i64(0n)), 'bad-type');
  rejects(single(14, (w) => w.container(14, -1n)), 'bad-count');
  rejects(single(14, (w) => w.container(14, 2n ** 32n)), 'bad-count');
  rejects(single(19, (w) => w.container(19, 2n).count(1n)), 'bad-count');
  // nesting beyond the limit (Zeek only logs containers of atomic values)
  const nested = (depth: number): Buffer =>
    single(19, (w) => {
      for (let i = 0; i < depth; i++) w.container(19, 1n);
      return w.count(1n);
    });
  assert.deepEqual(lines(nested(4)), ['{"v":[[[[1]]]]}']);
  rejects(nested(5), 'too-deep');
  rejects(nested(3), 'too-deep', { maxDepth: 2 });
});

test('huge declared counts are rejected before anything is allocated', () => {
  const before = process.memoryUsage().arrayBuffers;
  // num_fields, num_records, set and vector sizes of 2^31 with a tiny payload
  rejects(new Wire().header().u32(2 ** 31).build(), 'bad-count');
  rejects(new Wire().header().u32(1).field('a', 3).u32(2 ** 31).count(1n).build(), 'bad-count');
  rejects(single(14, (w) => w.container(14, 2n ** 31n)), 'bad-count');
  rejects(single(19, (w) => w.container(19, 2n ** 63n - 1n)), 'bad-count');
  rejects(new Wire().str('a'.repeat(10)).i32(2 ** 31 - 1).build(), 'bad-length');
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
});

test('a schema without fields is rejected: its records would be free on the wire', () => {
  // 61 bytes declaring 100,000 records of `{}` (before: 100,000 records routed)
  const zero = new Wire().header().u32(0).u32(100_000).build();
  assert.equal(zero.length, 61);
  rejects(zero, 'no-fields');
  rejects(new Wire().header().u32(0).u32(0xffffffff).build(), 'no-fields');
  rejects(new Wire().header().u32(0).u32(3).build(), 'no-fields');
  rejects(new Wire().header().u32(0).u32(0).build(), 'no-fields');
});

test('output and record limits', () => {
  const many = new Wire().header().u32(1).field('s', 7).u32(50);
  for (let i = 0; i < 50; i++) many.string('x'.repeat(1000));
  const payload = many.build();
  assert.equal(lines(payload).length, 50);
  rejects(payload, 'too-large', { maxOutputBytes: 20000 });
  rejects(payload, 'too-large', { maxRecords: 49 });
  // escaping expansion counts against the limit as well
  const hexy = single(7, (w) => w.string(Buffer.alloc(5000, 0x01)));
  assert.equal(lines(hexy)[0]!.length, 5000 * 5 + 8);
  rejects(hexy, 'too-large', { maxOutputBytes: 20000 });
});

test('log-write framing: frame count, message type, serializer name', () => {
  const frames = logWriteFrames(WORKED_EXAMPLE);
  const expect = (f: Buffer[], reason: RejectReason): void => {
    const r = decodeLogWriteMessage(f);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.reason, reason, r.detail);
  };
  expect(frames.slice(0, 3), 'frame-count');
  expect([...frames, Buffer.alloc(0)], 'frame-count');
  expect([], 'frame-count');
  expect([Buffer.from('log-writ'), ...frames.slice(1)], 'message-type');
  expect([frames[0]!, frames[1]!, Buffer.from('zeek-json-serializer'), frames[3]!], 'unknown-format');
  expect([frames[0]!, frames[1]!, frames[2]!, WORKED_EXAMPLE.subarray(0, 0x3d)], 'truncated');
  const r = decodeLogWriteMessage(frames, {}, new ZeekBinV1Decoder());
  assert.ok(r.ok && r.batch.records.length === 1);
});
