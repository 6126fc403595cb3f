// Publish order end to end: the cluster `bigbatch` load capture (1,231 ZeroMQ messages, up to
// 1,000 records each, 137,908 records) through the PULL ingress into RabbitMQ with the amqp sink's
// default settings (20 batches in flight). Every record must arrive byte for byte and, per path and
// sender, in the order the worker (or manager) wrote it; also when the gateway's connection is
// closed by the broker in the middle of the load.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AMQP_URL, declareTestQueue, drainQueue, rabbitCloseConnection, requireRabbitMQ, uniqueName, type AmqpMessage } from '../helpers/brokers.js';
import { eventually, metricValue, withGateway } from '../helpers/gateway.js';
import { LOAD_CLUSTER_RECORDS, loadCapture, readLogLines } from '../helpers/testdata.js';
import { assertSameLines } from '../unit/zeek/binary/captures.js';
import { sleep } from '../helpers/records.js';

const CAPTURE = 'load-a.bigbatch';
const EXPECTED = LOAD_CLUSTER_RECORDS;
const TOTAL = Object.values(EXPECTED).reduce((a, b) => a + b, 0);

/** `worker/conn` for a record from zeromq_worker-1_… on path conn. */
function streamOf(m: AmqpMessage): string {
  const sender = String(m.headers['zeek-sender']);
  const role = sender.startsWith('zeromq_manager_') ? 'manager' : 'worker';
  return `${role}/${String(m.headers['zeek-path'])}`;
}

function byStream(got: AmqpMessage[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of got) {
    const key = streamOf(m);
    let lines = out.get(key);
    if (!lines) out.set(key, (lines = []));
    lines.push(m.content.toString());
  }
  return out;
}

/** The first copy of every line, in arrival order (a retry's repeats dropped). */
function firstCopies(lines: string[]): string[] {
  const seen = new Set<string>();
  return lines.filter((l) => !seen.has(l) && seen.add(l));
}

function expectedLines(key: string): string[] {
  const [role, path] = key.split('/') as [string, string];
  return readLogLines('load', 'cluster', `${CAPTURE}.logs`, `${role}-local-json`, `${path}.log`);
}

/**
 * A gateway with one amqp sink (its defaults, raw envelope) fed by PULL; pushes the whole capture,
 * `paceMs` between messages, and calls `during` once the first records were acknowledged.
 */
async function pushCapture(paceMs: number, during?: (sink: string, acked: () => Promise<number>) => Promise<void>): Promise<Map<string, string[]>> {
  const exchange = uniqueName('order-x');
  const queue = await declareTestQueue(exchange, '#');
  // The sink's name is in its connection name, so the test can find its connection in the broker.
  const sink = uniqueName('rabbit');
  const config = {
    sinks: { [sink]: { type: 'amqp', url: AMQP_URL, exchange, routingKey: '{path}', envelope: 'raw' } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink }] }] },
  };
  // The fixture closes the sender at once when the test ends: everything sent was acknowledged
  // by then (or the test failed).
  await withGateway(config, async (gw) => {
    const push = gw.push({ linger: 5000 });
    const messages = loadCapture('load', 'cluster', `${CAPTURE}.jsonl`);
    const acked = () => metricValue(gw.metrics, 'zeek_gateway_sink_acknowledged_total', { sink });
    const fault = during
      ? (async () => {
          await eventually(async () => (await acked()) > 0, 30_000, 'first acks');
          await during(sink, acked);
        })()
      : Promise.resolve();
    for (const m of messages) {
      await push.send(m);
      if (paceMs > 0) await sleep(paceMs);
    }
    await fault;
    // The broker writes persistent messages to disk at a few MB/s on a shared 2-core machine: be patient,
    // but say how far it got.
    await eventually(async () => (await acked()) >= TOTAL, 300_000, `all ${TOTAL} records acknowledged`).catch(async (err: Error) => {
      const retries = await metricValue(gw.metrics, 'zeek_gateway_sink_retries_total', { sink });
      throw new Error(`${err.message}: ${await acked()} acknowledged, ${retries} retries, connected ${await metricValue(gw.metrics, 'zeek_gateway_sink_connected', { sink })}`);
    });
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_sink_dropped_total', { sink }), 0, 'nothing dropped');
  }, { ingress: 'pull' });
  // Everything published is in the queue now; duplicates (retries) make it more than TOTAL.
  return byStream(await drainQueue(queue, 360_000));
}

describe('AMQP publish order under load (cluster bigbatch through PULL)', () => {
  before(async () => {
    await requireRabbitMQ();
  });

  it('every record arrives once, byte for byte and in order per path and sender, with the default 20 batches in flight', async () => {
    const streams = await pushCapture(0);
    assert.deepEqual([...streams.keys()].sort(), Object.keys(EXPECTED).sort());
    for (const key of Object.keys(EXPECTED)) assertSameLines(streams.get(key) ?? [], expectedLines(key), key);
  });

  it('when the broker closes the gateway connection mid-load, nothing is lost and first copies keep their order', async (ctx) => {
    let closedAt = '';
    let closed = 0;
    let ackedAtClose = 0;
    const streams = await pushCapture(8, async (sink, acked) => {
      closedAt = new Date().toISOString();
      ackedAtClose = await acked();
      closed = await rabbitCloseConnection(`zeek-log-gateway:${sink}`);
    });
    ctx.diagnostic(`connection closed at ${closedAt}, ${ackedAtClose} records acknowledged before`);
    // The fault really happened, in the middle of the load (otherwise this case proves nothing).
    assert.equal(closed, 1, 'the broker closed the gateway connection');
    assert.ok(ackedAtClose < TOTAL / 2, `closed after ${ackedAtClose} of ${TOTAL} records were acknowledged`);
    let duplicates = 0;
    for (const key of Object.keys(EXPECTED)) {
      const lines = streams.get(key) ?? [];
      const first = firstCopies(lines);
      duplicates += lines.length - first.length;
      assertSameLines(first, expectedLines(key), key);
    }
    ctx.diagnostic(`${duplicates} duplicates (batches in flight at the close, sent again)`);
  });
});
