// Exchange names can come from log paths ("exchange": "zeek.{path}"): a stream of distinct
// paths must not grow the transport's memory of which exchanges exist or are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AmqpTransport, MAX_CACHED_EXCHANGES } from '../../../../src/sinks/amqp/transport.js';
import { defaultAmqpOptions } from '../../../../src/sinks/amqp/options.js';
import type { OutboundMessage } from '../../../../src/record.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { FakeRecovering, type FakeModel } from '../../../helpers/fake-amqp.js';
import { memoryAfterGc } from '../../../helpers/memory.js';
import { record, until } from '../../../helpers/records.js';

// A fresh string each call: the fake broker's own copy of the name is not the one the transport keeps.
const exchange = (i: number): string => `x${String(i).padStart(199, '0')}`;
const missing = (i: number): string => `m${String(i).padStart(199, '0')}`;

/** A transport connected to a fake broker driven by hand (the test confirms). */
async function connected(): Promise<{ transport: AmqpTransport; model: FakeModel }> {
  let conn: FakeRecovering | undefined;
  const transport = new AmqpTransport({ ...defaultAmqpOptions(), confirmTimeoutMs: 10_000 }, { name: 'rabbit', logger: silentLogger() }, async (url, so) => {
    conn = new FakeRecovering(url, so as never);
    return conn as never;
  });
  const started = transport.start();
  await until(() => conn !== undefined);
  const model = await (conn as FakeRecovering).connectNow();
  await started;
  return { transport, model };
}

test('30,000 distinct exchanges, existing and missing: memory stays flat past the caches', async () => {
  const { transport, model } = await connected();
  for (let i = 0; i < 35_000; i++) model.exchanges.add(exchange(i));

  // Batches of 500 records to existing exchanges and 500 to missing ones, each name new.
  const send = async (from: number, to: number): Promise<void> => {
    for (let b = from; b < to; b += 500) {
      const batch: OutboundMessage[] = [];
      for (let i = b; i < b + 500; i++) {
        for (const target of [exchange(i), missing(i)]) {
          batch.push({ record: record('conn', '{}'), payload: Buffer.from('{}'), address: { target, routingKey: 'conn' } });
        }
      }
      const sent = transport.send(batch);
      await until(() => model.confirm.published.length === 500);
      model.confirm.ackAll();
      const result = await sent;
      assert.equal(result.rejected?.length, 500, 'the records for missing exchanges are refused');
      assert.ok(result.rejected?.every((r) => r.reason === 'no_exchange'));
      // What the fake itself keeps (its channels and calls) is not the transport's memory.
      model.channels.length = 0;
      model.confirm.calls.length = 0;
    }
  };
  // Past the caches' bound first, then the measured stretch.
  await send(0, 5_000);
  const before = (await memoryAfterGc()).heapUsed;
  await send(5_000, 35_000);
  const grown = (await memoryAfterGc()).heapUsed - before;
  await transport.close();
  // Before the cap: every exchange checked and every one refused was kept (58 MB over 100,000 names of each kind).
  assert.ok(grown < 3 * 1024 * 1024, `heap grew by ${grown} bytes over 30,000 new exchanges of each kind`);
});

test('an exchange forgotten past the cap is checked again, and still delivers', async () => {
  const { transport, model } = await connected();
  const checks = (name: string): number => model.channels.reduce((n, ch) => n + ch.ops.filter((op) => op === `check ${name}`).length, 0);
  const deliver = async (names: string[]): Promise<void> => {
    const batch = names.map((target) => ({ record: record('conn', '{}'), payload: Buffer.from('{}'), address: { target, routingKey: 'conn' } }));
    const sent = transport.send(batch);
    await until(() => model.confirm.published.length === names.length);
    model.confirm.ackAll();
    assert.deepEqual(await sent, {});
  };
  for (let i = 0; i <= MAX_CACHED_EXCHANGES; i++) model.exchanges.add(exchange(i));
  await deliver([exchange(0)]);
  await deliver([exchange(0)]);
  assert.equal(checks(exchange(0)), 1, 'a known exchange is not checked again');
  await deliver(Array.from({ length: MAX_CACHED_EXCHANGES }, (_, i) => exchange(i + 1)));
  await deliver([exchange(0)]);
  assert.equal(checks(exchange(0)), 2, 'the oldest exchange was forgotten and checked again');
  await transport.close();
});
