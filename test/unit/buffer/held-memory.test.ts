// A sink's memory is what its metrics say: the records it holds keep nothing else alive.
// Measured after garbage collection, not estimated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldMemory, HeldRecord } from '../../../src/buffer/index.js';
import { eventually, freePort, metricValue, startFixture } from '../../helpers/gateway.js';
import { memoryAfterGc } from '../../helpers/memory.js';
import { Wire, logWriteFrames } from '../zeek/binary/encode.js';

/** ArrayBuffer memory (Buffers) after a full collection. */
const arrayBufferBytes = async (): Promise<number> => (await memoryAfterGc()).arrayBuffers;

/** A cluster batch of `n` conn-like records of about 350 bytes. */
function batch(path: string, n: number, first: number): Buffer[] {
  const w = new Wire().header(path).u32(3).field('ts', 5).field('uid', 7).field('msg', 7).u32(n);
  for (let i = 0; i < n; i++) w.time(1_700_000_000 + first + i).string(`C${String(first + i).padStart(17, '0')}`).string('m'.repeat(300));
  return logWriteFrames(w.build());
}

const MAX_BYTES = 256 * 1024;

for (const [name, destination] of [
  ['tagged envelope', {}],
  ['raw envelope', { envelope: 'raw' }],
  ['tagged envelope and a message key', { keyField: 'uid' }],
] as const) {
  test(`a slow sink holding one rare path's records out of large cluster batches stays near its maxBytes (${name})`, async (t) => {
    const gw = await startFixture({
      sinks: {
        // A broker that is away: the sink holds what it gets, up to its high-water mark.
        slow: {
          type: 'kafka',
          brokers: [`127.0.0.1:${await freePort()}`],
          buffer: { maxBytes: MAX_BYTES, maxRecords: 1_000_000, whenFull: 'drop-newest', retryInitialMs: 60_000, retryMaxMs: 60_000 },
        },
      },
      routing: { routes: [{ match: ['rare'], destinations: [{ sink: 'slow', ...destination }] }], defaultRoute: null },
    }, { ingress: 'pull' });
    const push = gw.push({ linger: 0 });
    try {
      const common = batch('common', 250, 0);
      const before = await arrayBufferBytes();
      const rounds = 1000;
      for (let i = 0; i < rounds; i++) {
        await push.send(common);
        await push.send(batch('rare', 1, i));
      }
      await eventually(
        async () => (await metricValue(gw.metrics, 'zeek_gateway_ingress_messages_total')) === 2 * rounds,
        60_000,
        'every batch read',
      );
      const sink = gw.gateway.sinks.get('slow')!;
      const grown = (await arrayBufferBytes()) - before;
      // The sink is full (the rest was dropped and counted): it holds about MAX_BYTES of payload.
      assert.ok(sink.bytes >= MAX_BYTES && sink.bytes < MAX_BYTES + 1024, `held ${sink.bytes} bytes`);
      assert.ok(sink.records > 500, `held ${sink.records} records`);
      // Held bytes, the keys, one partly used block of the sink's memory, the decoder's current
      // slab: well under MAX_BYTES + 1 MiB. (Before: each rare record pinned a 256 KiB decoder
      // slab, ~100 MiB here.)
      t.diagnostic(`held ${sink.records} records, ${sink.bytes} payload bytes; ArrayBuffer memory grew by ${grown} bytes`);
      const limit = MAX_BYTES + 1024 * 1024;
      assert.ok(grown < limit, `ArrayBuffer memory grew by ${grown} bytes while the sink holds ${sink.bytes}`);
    } finally {
      await gw.stop(0);
    }
  });
}

test('HeldMemory copies what a record would pin, and keeps what it owns', () => {
  const memory = new HeldMemory(1024);
  const slab = Buffer.alloc(4096, 0x61);
  const record = { path: 'conn', json: slab.subarray(100, 110), ingress: 'pull', receivedAt: 1, sender: 'w' };
  const held = memory.hold({ record, payload: slab.subarray(100, 110), address: { target: 't', key: slab.subarray(0, 4) } });
  assert.notEqual(held.payload.buffer, slab.buffer);
  assert.notEqual(held.address.key!.buffer, slab.buffer);
  assert.notEqual(held.record.json.buffer, slab.buffer);
  assert.equal(held.record.json.buffer, held.payload.buffer, 'the JSON stays a range of the payload');
  assert.deepEqual([held.record.path, held.record.sender, held.record.ingress, held.record.receivedAt], ['conn', 'w', 'pull', 1]);
  assert.equal(held.payload.toString(), 'aaaaaaaaaa');
  // Already held: nothing is copied again.
  assert.equal(memory.hold(held), held);
  // A buffer that is all of its memory pins nothing else: kept as it is.
  const own = Buffer.from('{"a":1}');
  const ownRecord = { path: 'x', json: Buffer.from(own), ingress: 'sub', receivedAt: 0 };
  const whole = Buffer.allocUnsafeSlow(own.length);
  own.copy(whole);
  assert.equal(memory.hold({ record: ownRecord, payload: whole, address: { target: 't' } }).payload, whole);
  // The JSON of a record that is not part of its payload (not made by an envelope) is copied on its own.
  const apart = memory.hold({ record: { ...record, json: slab.subarray(0, 3) }, payload: slab.subarray(10, 20), address: { target: 't' } });
  assert.equal(apart.record.json.toString(), 'aaa');
  assert.notEqual(apart.record.json.buffer, slab.buffer);
  assert.ok(apart.record instanceof HeldRecord);
  // Large records get memory of their own.
  const big = memory.copy(Buffer.alloc(1000));
  assert.equal(big.byteLength, big.buffer.byteLength);
});
