// Fault tests, short form (scripts/faults.ts runs the same scenarios longer): numbered real
// records at 5,000 records/s through the gateway while brokers or the gateway itself fail,
// every record counted end to end in the queue or topic it reached. Each test prints its
// sent/received/lost/duplicates table as diagnostics. They stop and start the local brokers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  SHORT,
  gatewaySigkillSpool,
  gatewaySigtermPull,
  gatewaySigtermSub,
  kafkaRestarts,
  oneSinkDown,
  rabbitRestarts,
  table,
  type FaultParams,
  type ScenarioResult,
} from '../helpers/faults.js';

/** Runs a scenario with its progress as diagnostics, prints its table and fails on any failed check. */
async function run(t: TestContext, scenario: (p: FaultParams) => Promise<ScenarioResult>, params: Partial<FaultParams> = {}) {
  const r = await scenario({ ...SHORT, ...params, progress: (line) => t.diagnostic(line) });
  for (const line of table(r.rows)) t.diagnostic(line);
  if (r.load) t.diagnostic(`load: ${r.load.sent} records at ${Math.round(r.load.rate)}/s, max lag ${r.load.maxLagMs} ms`);
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.what);
  assert.deepEqual(failed, [], `${r.name}: ${failed.length} of ${r.checks.length} checks failed`);
  assert.ok(r.rows.length > 0 && r.rows.every((row) => row.sent > 0), 'records were sent and counted');
}

test('RabbitMQ stopped and started 3 times, then its connections force-closed: nothing lost, duplicates within the window', { timeout: 150_000 }, (t) =>
  run(t, rabbitRestarts),
);

test('Kafka SIGKILLed and started again 3 times, kafkajs client: nothing lost, duplicates within the window', { timeout: 180_000 }, (t) =>
  run(t, kafkaRestarts, { downMs: 1000, upMs: 1500 }),
);

test('Kafka SIGKILLed and started again 3 times, platformatic client: nothing lost, duplicates within the window', { timeout: 180_000 }, (t) =>
  run(t, kafkaRestarts, { downMs: 1000, upMs: 1500, kafkaClient: 'platformatic' }),
);

test('gateway process SIGTERMed under load and started again: everything it received is delivered', { timeout: 90_000 }, (t) =>
  run(t, gatewaySigtermSub, { cycles: 1, upMs: 3000 }),
);

test(
  'PULL ingress: gateway SIGTERMed and restarted while a PUSH sender keeps sending: only TCP in-flight bytes may be lost',
  { timeout: 90_000 },
  (t) => run(t, gatewaySigtermPull, { cycles: 1, downMs: 1500, upMs: 3000 }),
);

// fsync per write is one disk flush per record and sink (~1,000 flushes/s on this machine's
// disk), so this one runs at what two spooling sinks sustain, not at 5,000 records/s.
test('gateway process SIGKILLed under load with both sinks spooling (fsync always): nothing spooled is lost', { timeout: 90_000 }, (t) =>
  run(t, (p) => gatewaySigkillSpool(p, 'always'), { rate: 300, cycles: 1, upMs: 3000 }),
);

test('fan-out with RabbitMQ (drop-newest) stopped: Kafka gets every record and keeps pace, RabbitMQ drops are counted exactly', { timeout: 90_000 }, (t) =>
  run(t, (p) => oneSinkDown({ ...p, outageMs: 5000, rabbitMaxRecords: 2000 })),
);
