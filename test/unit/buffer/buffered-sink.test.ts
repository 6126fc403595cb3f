import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferedSink } from '../../../src/buffer/buffered-sink.js';
import type { BufferOptions } from '../../../src/buffer/options.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/log.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { message, payloads, unitBuffer, until, tick } from '../../helpers/records.js';

const base: BufferOptions = unitBuffer;

function make(opts: Partial<BufferOptions> = {}) {
  const transport = new FakeTransport();
  const metrics = new Metrics();
  const rejected: string[] = [];
  const sink = new BufferedSink('s1', 'fake', transport, { ...base, ...opts }, {
    metrics,
    logger: silentLogger(),
    onRejected: (m, reason) => rejected.push(`${m.payload}:${reason}`),
  });
  return { sink, transport, metrics, rejected };
}

async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

test('delivers every record in order, in batches of at most batchMaxRecords', async () => {
  const { sink, transport, metrics } = make({ maxRecords: 100 });
  const sent = Array.from({ length: 10 }, (_, i) => `r${i}`);
  for (const p of sent) sink.offer(message('conn', p));
  await until(() => transport.delivered.length === 10);
  assert.deepEqual(payloads(transport.delivered), sent);
  assert.deepEqual(transport.batches, [4, 4, 2]);
  assert.equal(sink.records, 0);
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_acknowledged_total', { sink: 's1', path: 'conn' }), 10);
});

test('block: full at the high-water mark, writable again once acknowledged', async () => {
  const { sink, transport } = make({ maxRecords: 3 });
  transport.mode = 'manual';
  for (let i = 0; i < 3; i++) sink.offer(message('dns', `d${i}`));
  assert.equal(sink.isFull(), true);
  let writable = false;
  void sink.whenWritable().then(() => (writable = true));
  await tick();
  await tick();
  assert.equal(writable, false, 'must not be writable while nothing was acknowledged');
  assert.equal(transport.inFlight.length, 1);
  transport.ack();
  await until(() => writable, 1000, 'writable');
  assert.equal(sink.records, 0);
});

test('block: the byte high-water mark counts too', () => {
  const { sink, transport } = make({ maxRecords: 1000, maxBytes: 10 });
  transport.mode = 'manual';
  sink.offer(message('conn', '12345'));
  assert.equal(sink.isFull(), false);
  sink.offer(message('conn', '67890'));
  assert.equal(sink.isFull(), true);
  assert.equal(sink.bytes, 10);
});

test('drop-newest keeps the oldest records and counts every drop exactly', async () => {
  const { sink, transport, metrics } = make({ maxRecords: 5, whenFull: 'drop-newest' });
  transport.mode = 'manual';
  for (let i = 0; i < 12; i++) sink.offer(message('conn', `r${i}`));
  assert.equal(sink.records, 5);
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { sink: 's1', reason: 'buffer-full' }), 7);
  transport.mode = 'auto';
  while (transport.inFlight.length) transport.ack();
  await until(() => sink.records === 0);
  assert.deepEqual(payloads(transport.delivered), ['r0', 'r1', 'r2', 'r3', 'r4']);
});

test('drop-oldest keeps the newest waiting records, never the in-flight ones', async () => {
  const { sink, transport, metrics } = make({ maxRecords: 4, whenFull: 'drop-oldest', batchMaxRecords: 2 });
  transport.mode = 'manual';
  sink.offer(message('conn', 'a'));
  sink.offer(message('conn', 'b'));
  await until(() => transport.inFlight.length === 1); // a,b are with the broker
  for (const p of ['c', 'd', 'e', 'f']) sink.offer(message('conn', p));
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { sink: 's1', reason: 'buffer-full' }), 2);
  transport.mode = 'auto';
  transport.ack();
  await until(() => sink.records === 0);
  assert.deepEqual(payloads(transport.delivered), ['a', 'b', 'e', 'f']);
});

test('failed batches are retried with backoff, in order, nothing lost', async () => {
  const { sink, transport, metrics } = make({ maxRecords: 100 });
  transport.failNext = 3;
  const sent = Array.from({ length: 9 }, (_, i) => `r${i}`);
  for (const p of sent) sink.offer(message('http', p));
  await until(() => transport.delivered.length === 9, 3000, 'delivery after retries');
  assert.deepEqual(payloads(transport.delivered), sent);
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_retries_total', { sink: 's1' }), 3);
});

test('with several batches in flight, a failure puts them back in their original order', async () => {
  const { sink, transport } = make({ maxRecords: 100, maxInFlight: 2, batchMaxRecords: 2 });
  transport.mode = 'manual';
  for (const p of ['a', 'b', 'c', 'd']) sink.offer(message('conn', p));
  await until(() => transport.inFlight.length === 2);
  // The later batch fails first, then the earlier one: order must still be a,b,c,d.
  const [first, second] = transport.inFlight.splice(0, 2);
  second!.reject(new Error('lost'));
  await tick();
  first!.reject(new Error('lost'));
  transport.mode = 'auto';
  await until(() => transport.delivered.length === 4, 3000);
  assert.deepEqual(payloads(transport.delivered), ['a', 'b', 'c', 'd']);
});

test('records the broker refuses are counted, handed over and not retried', async () => {
  const { sink, transport, metrics, rejected } = make({ maxRecords: 100 });
  transport.refuse.set('bad', 'unroutable');
  for (const p of ['ok1', 'bad', 'ok2']) sink.offer(message('conn', p));
  await until(() => sink.records === 0);
  assert.deepEqual(payloads(transport.delivered), ['ok1', 'ok2']);
  assert.deepEqual(rejected, ['bad:unroutable']);
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { sink: 's1', reason: 'unroutable' }), 1);
  assert.equal(transport.batches.length, 1);
});

test('records whose address the broker cannot take are refused before sending; the transport never sees them', async () => {
  const transport = new FakeTransport();
  const metrics = new Metrics();
  const rejected: string[] = [];
  const checked: string[] = [];
  const sink = new BufferedSink('s1', 'fake', transport, { ...base, maxRecords: 100, batchMaxRecords: 10 }, {
    metrics,
    logger: silentLogger(),
    onRejected: (m, reason) => rejected.push(`${m.payload}:${reason}`),
    validateAddress: (a) => {
      checked.push(a.target);
      return a.target.length > 10 ? 'too long' : undefined;
    },
  });
  const long = 'x'.repeat(11);
  for (const [target, p] of [['conn', 'a'], ['conn', 'b'], [long, 'c'], ['conn', 'd'], [long, 'e'], ['dns', 'f']] as const) {
    sink.offer({ ...message(target, p), address: { target } });
  }
  await until(() => sink.records === 0);
  assert.deepEqual(payloads(transport.delivered), ['a', 'b', 'd', 'f']);
  assert.deepEqual(transport.batches, [4], 'one send, of the good records only');
  assert.deepEqual(rejected, ['c:invalid_address', 'e:invalid_address']);
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_dropped_total', { sink: 's1', reason: 'invalid_address' }), 2);
  assert.equal(await metricValue(metrics, 'zeek_gateway_sink_retries_total', { sink: 's1' }), 0);
  // An address is checked when it differs from the last good one, not per record.
  assert.deepEqual(checked, ['conn', long, long, 'dns']);

  // A batch of nothing but bad addresses settles without a send.
  sink.offer({ ...message(long, 'g'), address: { target: long } });
  await until(() => sink.records === 0);
  assert.deepEqual(transport.batches, [4]);
  assert.deepEqual(rejected.at(-1), 'g:invalid_address');
});

test('interleaved paths: each good address is checked once, not each time the path changes', async () => {
  const transport = new FakeTransport();
  const checked: string[] = [];
  const sink = new BufferedSink('s1', 'fake', transport, { ...base, maxRecords: 100, batchMaxRecords: 100 }, {
    metrics: new Metrics(),
    logger: silentLogger(),
    validateAddress: (a) => {
      checked.push(`${a.target}/${a.routingKey}`);
      return undefined;
    },
  });
  // The NCSA capture interleaves paths record by record; one target may carry several routing keys.
  for (let i = 0; i < 30; i++) {
    const target = ['conn', 'dns', 'http'][i % 3] as string;
    sink.offer({ ...message(target, `r${i}`), address: { target, routingKey: i % 2 === 0 ? 'even' : 'odd' } });
  }
  await until(() => sink.records === 0);
  assert.equal(transport.delivered.length, 30);
  assert.deepEqual(checked, ['conn/even', 'dns/odd', 'http/even', 'conn/odd', 'dns/even', 'http/odd']);
});

test('drain waits for acknowledgement and reports what is left after the timeout', async () => {
  const { sink, transport } = make({ maxRecords: 100 });
  transport.mode = 'manual';
  for (const p of ['a', 'b', 'c']) sink.offer(message('conn', p));
  await until(() => transport.inFlight.length === 1);
  assert.equal(await sink.drain(30), 3);
  transport.mode = 'auto';
  transport.ack();
  assert.equal(await sink.drain(1000), 0);
  assert.deepEqual(payloads(transport.delivered), ['a', 'b', 'c']);
});

test('a reconnect retries at once instead of waiting out the backoff', async () => {
  const { sink, transport } = make({ maxRecords: 100, retryInitialMs: 60_000, retryMaxMs: 60_000 });
  transport.failNext = 1;
  sink.offer(message('conn', 'x'));
  await until(() => transport.batches.length === 1);
  await tick();
  transport.setConnected(true);
  await until(() => transport.delivered.length === 1, 1000, 'delivery after reconnect');
});

test('with several batches in flight, a failed batch is retried even when the last one to settle succeeded', async () => {
  const { sink, transport } = make({ maxRecords: 100, maxInFlight: 2, batchMaxRecords: 2 });
  transport.mode = 'manual';
  for (const p of ['a', 'b', 'c', 'd']) sink.offer(message('conn', p));
  await until(() => transport.inFlight.length === 2);
  transport.fail(); // a,b fail first
  await tick();
  transport.mode = 'auto';
  transport.ack(); // c,d succeed last
  await until(() => transport.delivered.length === 4, 3000, 'the failed batch retried');
  assert.deepEqual(payloads(transport.delivered), ['c', 'd', 'a', 'b']);
  assert.equal(sink.records, 0);
});

test('a batch that waits only for a destination to appear does not hold later batches back (maxInFlight 1)', async () => {
  const { sink, transport } = make({ maxRecords: 100, batchMaxRecords: 2 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const plain = transport.send.bind(transport);
  // A Kafka topic nobody created yet: the transport says its batch waits only for that.
  transport.send = async (batch, hooks) => {
    if (batch.some((m) => m.payload.toString() === 'new1')) {
      hooks?.waiting?.();
      await gate;
    }
    return plain(batch);
  };
  sink.offer(message('new', 'new1'));
  await tick();
  for (const p of ['c1', 'c2', 'c3']) sink.offer(message('conn', p));
  await until(() => transport.delivered.length === 3, 3000, 'the later batches delivered during the wait');
  assert.deepEqual(payloads(transport.delivered), ['c1', 'c2', 'c3']);
  assert.equal(sink.records, 1, 'the waiting record is still held');
  release();
  await until(() => sink.records === 0, 3000);
  assert.deepEqual(payloads(transport.delivered), ['c1', 'c2', 'c3', 'new1']);
});
