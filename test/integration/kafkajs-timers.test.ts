// kafkajs 2.2.4's request queue re-arms its pending-request check after every response, with a
// delay of `throttledUntil - Date.now()` even when nothing is pending and nothing throttled: a
// negative delay, which Node 24 reports as a TimeoutNegativeWarning, and a 1 ms loop per broker
// connection for as long as the producer is connected (kafkajs issues 1751 and 1704). The kafkajs
// transport must do neither. Against the real broker; never skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { loadKafkaTransport } from '../../src/sinks/kafka/index.js';
import { defaultKafkaOptions } from '../../src/sinks/kafka/options.js';
import { silentLogger } from '../../src/ops/log.js';
import { KAFKA_BROKERS, collectKafka, createKafkaTopics, requireKafka, uniqueName } from '../helpers/brokers.js';
import { record, sleep, until } from '../helpers/records.js';

interface QueuePrototype {
  checkPendingRequests(this: unknown): void;
}

// From the start of the process: Node emits a TimeoutNegativeWarning once per process, and the
// test helpers' own kafkajs admin clients (requireKafka, createKafkaTopics) may be the first.
const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);
process.on('warning', onWarning);

test('a kafkajs run emits no TimeoutNegativeWarning and an idle producer does not poll', async () => {
  // Loading the kafkajs transport is what mends kafkajs (client libraries load on use): before the
  // helpers' own kafkajs admin clients connect, or their warning would be counted.
  const options = { ...defaultKafkaOptions(), client: 'kafkajs' as const, brokers: KAFKA_BROKERS };
  const create = await loadKafkaTransport(options);
  await requireKafka();
  // Counts the request queues' checks, at the prototype every connection's queue shares.
  const queue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: QueuePrototype };
  const check = queue.prototype.checkPendingRequests;
  let checks = 0;
  queue.prototype.checkPendingRequests = function counted(this: unknown) {
    checks++;
    check.call(this);
  };
  const topic = uniqueName('kafkajs-timers');
  await createKafkaTopics([topic], 1);
  const transport = create(options, { name: 'timers', logger: silentLogger() });
  try {
    await transport.start();
    await until(() => transport.isConnected(), 15_000, 'connected');
    for (let b = 0; b < 20; b++) {
      const batch = Array.from({ length: 100 }, (_, i) => {
        const payload = `{"n":${b * 100 + i}}`;
        return { record: record('conn', payload), payload: Buffer.from(payload), address: { target: topic } };
      });
      assert.deepEqual(await transport.send(batch), {});
    }
    assert.equal((await collectKafka(topic, { count: 2000, timeoutMs: 15_000 })).length, 2000);
    // Idle for a second: nothing is pending, so nothing needs checking.
    await sleep(200);
    const before = checks;
    await sleep(1000);
    const idleChecks = checks - before;
    // Warnings are emitted on a later tick.
    await sleep(50);
    const negative = warnings.filter((w) => w.name === 'TimeoutNegativeWarning');
    assert.deepEqual(negative.map((w) => w.message), [], 'no TimeoutNegativeWarning');
    assert.ok(idleChecks < 20, `an idle producer checked its request queues ${idleChecks} times in a second`);
  } finally {
    queue.prototype.checkPendingRequests = check;
    process.off('warning', onWarning);
    await transport.close();
  }
});
