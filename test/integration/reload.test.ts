// Configuration reload while records flow, on a real gateway process against the real brokers:
// SIGHUP re-reads the config file; routes change between two ingress messages, sinks join,
// are replaced and leave without losing a record; an invalid config changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import {
  AMQP_URL,
  KAFKA_BROKERS,
  createKafkaTopics,
  declareTestQueue,
  requireKafka,
  requireRabbitMQ,
  uniqueName,
} from '../helpers/brokers.js';
import { runCli, scrapeText, whenReady, writeConfig, type CliProcess } from '../helpers/cli.js';
import { metricFromText } from '../helpers/metrics.js';
import * as zmq from 'zeromq';
import { eventually, freePort } from '../helpers/gateway.js';
import { DeliveryCount, readQueue, readTopic, startLoad } from '../helpers/load.js';

before(async () => {
  await requireRabbitMQ();
  await requireKafka();
});

const RATE = 5000;
const PHASE_MS = 4000;

const reloadLines = (p: CliProcess): number =>
  p.logs.filter((l) => l.msg === 'configuration reloaded' || l.msg === 'configuration reloaded: no change' || String(l.msg).startsWith('configuration reload failed')).length;

test('SIGHUP reloads under 5,000 records/s: route change, sink added, changed, removed, invalid config; every record where its route said, none lost', async (t) => {
  const id = uniqueName('reload');
  const exA = `zlg-${id}-a`;
  const exB = `zlg-${id}-b`;
  const topic = `zlg-${id}`;
  const queueA = await declareTestQueue(exA, '#');
  const queueB = await declareTestQueue(exB, '#');
  await createKafkaTopics([topic], 1);
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();

  const sinks = {
    rabbitmq: { enabled: false },
    kafka: { enabled: false },
    rmqA: { type: 'amqp', url: AMQP_URL, exchange: exA, routingKey: '{path}' },
    kfk: { type: 'kafka', brokers: KAFKA_BROKERS, topic },
    rmqB: { type: 'amqp', url: AMQP_URL, exchange: exB, routingKey: '{path}' },
  };
  const to = (...names: string[]) => ({ routes: [{ name: 'all', match: ['*'], destinations: names.map((sink) => ({ sink })) }] });
  const configFor = (s: Record<string, unknown>, routing: object) => ({
    // PULL in the NCSA format: like Zeek's PUSH, the sender queues instead of dropping when the
    // gateway falls behind (a busy CI machine), so any loss counted here is the gateway's.
    ingress: { sub: { enabled: false }, pull: { enabled: true, format: 'ncsa', endpoints: [endpoint] } },
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    shutdown: { lingerMs: 10_000 },
    sinks: s,
    routing,
  });
  const { rmqB, ...withoutB } = sinks;
  const { kfk, ...withoutKafka } = sinks;
  // Each step: the config written before SIGHUP, and the destinations a record gets under it
  // (bit 1: rmqA, 2: kfk, 4: rmqB).
  const steps: Array<{ what: string; config: object; mask: number; ok: boolean }> = [
    { what: 'route change', config: configFor(withoutB, to('rmqA', 'kfk')), mask: 3, ok: true },
    { what: 'sink added', config: configFor(sinks, to('rmqA', 'kfk', 'rmqB')), mask: 7, ok: true },
    {
      what: 'sink changed',
      config: configFor({ ...sinks, rmqB: { ...rmqB, buffer: { batchMaxRecords: 200 } } }, to('rmqA', 'kfk', 'rmqB')),
      mask: 7,
      ok: true,
    },
    {
      what: 'sink removed',
      config: configFor({ ...withoutKafka, kfk: { type: 'kafka', enabled: false }, rmqB: { ...rmqB, buffer: { batchMaxRecords: 200 } } }, to('rmqA', 'rmqB')),
      mask: 5,
      ok: true,
    },
    { what: 'invalid config', config: configFor(sinks, to('rmqA', 'nope')), mask: 5, ok: false },
  ];
  void kfk;
  const file = writeConfig(configFor(withoutB, to('rmqA')));
  const gw = runCli(['run', '--config', file]);
  let exitCode: number | null | undefined;
  void gw.exit.then((c) => (exitCode = c));
  try {
    await whenReady(gw, httpPort);
    const samples: string[] = [];
    const sampler = setInterval(() => {
      void scrapeText(httpPort).then(
        (m) =>
          samples.push(
            `${new Date().toISOString().slice(11, 19)} rcv=${metricFromText(m, 'zeek_gateway_records_received_total')} held=${['rmqA', 'kfk', 'rmqB'].map((k) => metricFromText(m, 'zeek_gateway_sink_buffer_records', { sink: k })).join('/')}`,
          ),
        () => undefined,
      );
    }, 1000);
    const pub = new zmq.Push({ sendHighWaterMark: 0, linger: 0 });
    after(() => {
      clearInterval(sampler);
      pub.close();
    });
    pub.connect(endpoint);
    const load = startLoad({ rate: RATE, durationMs: PHASE_MS * (steps.length + 1), send: (f) => pub.send(f) });
    const windows: Array<{ from: number; to: number }> = [];
    const received = async (): Promise<number> => metricFromText(await scrapeText(httpPort), 'zeek_gateway_records_received_total');
    for (const step of steps) {
      await new Promise((r) => setTimeout(r, PHASE_MS));
      const seen = reloadLines(gw);
      writeFileSync(file, JSON.stringify(step.config));
      // The records the gateway has taken in so far: one PUSH connection delivers in order, so
      // the swap must fall between these two counts.
      const from = await received();
      gw.child.kill('SIGHUP');
      await eventually(() => reloadLines(gw) > seen || exitCode !== undefined, 30_000, `reload (${step.what}) logged`);
      assert.equal(exitCode, undefined, `the gateway survives SIGHUP (${step.what})`);
      windows.push({ from, to: await received() });
      const last = gw.logs.filter((l) => String(l.msg).startsWith('configuration reload')).at(-1)!;
      assert.equal(last.msg !== undefined && !String(last.msg).includes('failed'), step.ok, `${step.what}: ${JSON.stringify(last)}`);
    }
    const sent = await load.done;
    // The sender shares a small CI machine with the gateway and the brokers; it must at least come close.
    t.diagnostic(`load: ${sent.sent} records at ${Math.round(sent.rate)}/s`);
    assert.ok(sent.rate > RATE * 0.6, `the load held its rate (${Math.round(sent.rate)}/s)`);
    const failed = gw.logs.find((l) => String(l.msg).startsWith('configuration reload failed'));
    assert.ok(
      (failed?.problems as string[]).some((p) => p.includes('routing.routes[0].destinations[1].sink') || p.includes('nope')),
      `the failure names the key: ${JSON.stringify(failed?.problems)}`,
    );

    // Drained, then counted from the gateway's own metrics before it stops.
    // A busy machine may leave the gateway behind the sender: wait while it makes progress.
    let last = -1;
    let lastChange = Date.now();
    await eventually(
      async () => {
        const n = await received();
        if (n !== last) [last, lastChange] = [n, Date.now()];
        if (Date.now() - lastChange > 15_000) throw new Error(`no progress for 15 s at ${n} received`);
        return n === sent.sent;
      },
      180_000,
      'all received',
    ).catch(async (err: Error) => {
      const text = await scrapeText(httpPort);
      const lines = text.split('\n').filter((l) => /^zeek_gateway_(records_received|sink_buffer_records|sink_dropped|ingress_rejected|sink_acknowledged)/.test(l));
      const problems = gw.logs.filter((l) => l.level !== 'info');
      if (process.env.ZLG_TEST_DUMP) writeFileSync(process.env.ZLG_TEST_DUMP, JSON.stringify({ samples, logs: gw.logs }, null, 1));
      throw new Error(`${err.message}: sent ${sent.sent}\n${lines.join('\n')}\n${JSON.stringify(problems.slice(0, 10))}`);
    });
    await eventually(async () => metricFromText(await scrapeText(httpPort), 'zeek_gateway_sink_buffer_records') === 0, 60_000, 'sinks drained');
    // The sender closes only at the end: a gateway behind it still has records in its queue.
    clearInterval(sampler);
    const text = await scrapeText(httpPort);
    assert.equal(metricFromText(text, 'zeek_gateway_config_reloads_total', { result: 'success' }), 4);
    assert.equal(metricFromText(text, 'zeek_gateway_config_reloads_total', { result: 'failure' }), 1);
    assert.equal(metricFromText(text, 'zeek_gateway_sink_dropped_total'), 0, 'nothing dropped');
    assert.equal(metricFromText(text, 'zeek_gateway_sink_connected', { sink: 'kfk' }), 0, 'the removed sink is gone from the gauges');
    assert.doesNotMatch(text, /zeek_gateway_sink_buffer_records\{sink="kfk"\}/);

    const retries = (sink: string): number => metricFromText(text, 'zeek_gateway_sink_retries_total', { sink });
    const problems = gw.logs.filter((l) => l.level !== 'info' && l.level !== 'debug').slice(0, 10);

    gw.child.kill('SIGTERM');
    assert.equal(await gw.exit, 0);

    const counts = { rmqA: new DeliveryCount(sent.sent), kfk: new DeliveryCount(sent.sent), rmqB: new DeliveryCount(sent.sent) };
    // Up to ~250,000 messages to read back; a busy shared machine read RabbitMQ at a few hundred per second.
    const READ_MS = 360_000;
    const reads = { rmqA: await readQueue(queueA, counts.rmqA, READ_MS), kfk: await readTopic(topic, counts.kfk, READ_MS), rmqB: await readQueue(queueB, counts.rmqB, READ_MS) };
    assert.ok(Object.values(reads).every((r) => r.complete), `read everything back: ${JSON.stringify(reads)}`);
    // A reload sends nothing twice. A batch the broker did not confirm in time (confirmTimeoutMs on a
    // busy machine) is sent again by the sink: that repeats at most its in-flight window (amqp:
    // maxInFlight 20 x batchMaxRecords 1000; kafka: 1 x 1000), and only where the sink counted a retry.
    const window: Record<string, number> = { rmqA: 20_000, kfk: 1000, rmqB: 20_000 };
    for (const [name, c] of Object.entries(counts)) {
      const r = c.report();
      assert.equal(r.unexpected, 0, `${name}: no foreign records`);
      if (r.duplicates > 0) {
        t.diagnostic(`${name}: ${r.duplicates} duplicates after ${retries(name)} retries; ${JSON.stringify(problems)}`);
        assert.ok(retries(name) > 0, `${name}: ${r.duplicates} duplicates, but the sink retried nothing: ${JSON.stringify(problems)}`);
      }
      assert.ok(r.duplicates <= window[name]!, `${name}: duplicates ${r.duplicates} within the in-flight window`);
    }
    // Every record's destinations, as one mask per record in the order sent.
    const masks = new Uint8Array(sent.sent);
    for (let seq = 0; seq < sent.sent; seq++) {
      masks[seq] = (counts.rmqA.has(seq) ? 1 : 0) | (counts.kfk.has(seq) ? 2 : 0) | (counts.rmqB.has(seq) ? 4 : 0);
    }
    // One cut per change, in order: records go wholly by the old or wholly by the new routes,
    // and the cut lies between the SIGHUP and the reload's log line (plus what was queued).
    const runs: Array<{ mask: number; from: number }> = [];
    for (let seq = 0; seq < sent.sent; seq++) if (runs.at(-1)?.mask !== masks[seq]) runs.push({ mask: masks[seq]!, from: seq });
    assert.deepEqual(
      runs.map((r) => r.mask),
      [1, 3, 7, 5],
      `destinations per record, in runs: ${JSON.stringify(runs.slice(0, 12))} (0 would be a lost record)`,
    );
    const changes = [windows[0]!, windows[1]!, windows[3]!];
    for (let i = 0; i < changes.length; i++) {
      const cut = runs[i + 1]!.from;
      assert.ok(cut >= changes[i]!.from && cut <= changes[i]!.to, `cut ${i + 1} at ${cut} within ${JSON.stringify(changes[i])}`);
    }
  } finally {
    if (exitCode === undefined) gw.child.kill('SIGKILL');
  }
});

test('POST /-/reload: off by default; when on, applies the file and answers what changed, or 422 with the problems', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  const base = {
    ingress: { sub: { enabled: true, endpoints: [endpoint] } },
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    sinks: { rabbitmq: { enabled: false }, kafka: { enabled: false }, out: { type: 'console', file: '/dev/null' } },
    routing: { routes: [{ name: 'all', match: ['*'], destinations: [{ sink: 'out' }] }] },
  };
  const post = () => fetch(`http://127.0.0.1:${httpPort}/-/reload`, { method: 'POST' });
  const off = runCli(['run', '--config', writeConfig(base)]);
  try {
    await whenReady(off, httpPort);
    assert.equal((await post()).status, 404);
  } finally {
    off.child.kill('SIGTERM');
    await off.exit;
  }
  const file = writeConfig({ ...base, http: { ...base.http, reload: { enabled: true } } });
  const gw = runCli(['run', '--config', file]);
  try {
    await whenReady(gw, httpPort);
    const same = await post();
    assert.equal(same.status, 200);
    assert.deepEqual(await same.json(), { ok: true, changed: false, sinksAdded: [], sinksRemoved: [], sinksReplaced: [], ingressesRebound: [], needRestart: [] });
    writeFileSync(
      file,
      JSON.stringify({
        ...base,
        http: { ...base.http, port: 1, reload: { enabled: true } },
        sinks: { ...base.sinks, more: { type: 'console', file: '/dev/null' } },
        routing: { routes: [{ name: 'all', match: ['*'], destinations: [{ sink: 'out' }, { sink: 'more' }] }] },
      }),
    );
    const added = (await (await post()).json()) as Record<string, unknown>;
    assert.deepEqual(added.sinksAdded, ['more']);
    assert.deepEqual(added.needRestart, ['http'], 'the listener itself is not re-bound');
    writeFileSync(file, JSON.stringify({ ...base, http: { ...base.http, reload: { enabled: true } }, sinks: { ...base.sinks, out: { type: 'console', buffer: { whenFull: 'sometimes' } } } }));
    const bad = await post();
    assert.equal(bad.status, 422);
    const body = (await bad.json()) as { ok: boolean; problems: string[] };
    assert.equal(body.ok, false);
    assert.ok(body.problems.some((p) => p.startsWith('sinks.out.buffer.whenFull')), JSON.stringify(body.problems));
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/-/reload`)).status, 405, 'GET does not reload');
    const readyz = (await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json()) as { sinks: Record<string, unknown> };
    assert.deepEqual(Object.keys(readyz.sinks).sort(), ['more', 'out'], 'the failed reload changed nothing');
  } finally {
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exit, 0);
  }
});
