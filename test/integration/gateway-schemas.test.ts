// Zeek-native output end to end: a real Zeek cluster capture through the PULL ingress, with the
// logger's options and an inline route; per-path schemas, then the same worker restarted with a
// changed conn schema (what a Zeek upgrade or a new script does).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { AMQP_URL, collectAmqp, declareTestQueue, requireRabbitMQ, uniqueName } from '../helpers/brokers.js';
import { eventually, metricValue, startFixture } from '../helpers/gateway.js';
import { captureLogger } from '../helpers/log.js';
import { loadCapture, readLogLines } from '../helpers/testdata.js';
import { startHttp } from '../../src/ops/http.js';

before(async () => {
  await requireRabbitMQ();
});

/** The batch payload with one schema field renamed; the records after the schema are kept as they are. */
function renameSchemaField(payload: Buffer, from: string, to: string): Buffer {
  let o = 0;
  const str = (): string => {
    const n = payload.readInt32BE(o);
    const s = payload.toString('utf8', o + 4, o + 4 + n);
    o += 4 + n;
    return s;
  };
  const head: Buffer[] = [];
  const strings = [str(), str(), str(), str()];
  const nFields = payload.readUInt32BE(o);
  o += 4;
  const lenPrefixed = (s: string): Buffer => {
    const b = Buffer.from(s);
    const n = Buffer.alloc(4);
    n.writeInt32BE(b.length);
    return Buffer.concat([n, b]);
  };
  for (const s of strings) head.push(lenPrefixed(s));
  head.push(payload.subarray(o - 4, o));
  let renamed = 0;
  for (let i = 0; i < nFields; i++) {
    const start = o;
    const have2nd = payload[o++] === 1;
    if (have2nd) str();
    const nameAt = o;
    const name = str();
    if (name === from) {
      head.push(payload.subarray(start, nameAt), lenPrefixed(to));
      renamed++;
    } else {
      head.push(payload.subarray(start, o));
    }
    head.push(payload.subarray(o, o + 9)); // type, subtype, optional
    o += 9;
  }
  assert.equal(renamed, 1, `the batch has a field ${from}`);
  return Buffer.concat([...head, payload.subarray(o)]);
}

test('a changed schema of a path counts in zeek_gateway_schema_changes_total{path}, logs one line with the diff, and loses nothing', async () => {
  const id = uniqueName('schemas');
  const exchange = `zlg-${id}`;
  const queue = await declareTestQueue(exchange, 'conn');
  const { logger, lines } = captureLogger('info');
  const gw = await startFixture(
    {
      sinks: { rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange }, envelope: 'raw' } },
      routing: { routes: [{ match: ['*'], destinations: [{ sink: 'rabbit' }] }] },
    },
    { ingress: 'pull', logger },
  );
  const http = await startHttp({ host: '127.0.0.1', port: 0, registry: gw.metrics.registry, readiness: () => ({ ready: true }), schemas: gw.gateway.schemas });
  const sock = gw.push();
  const schemaLines = () => lines.filter((l) => l.msg === 'log schema changed');
  const changes = () => metricValue(gw.metrics, 'zeek_gateway_schema_changes_total', { path: 'conn' });
  const connReceived = () => metricValue(gw.metrics, 'zeek_gateway_records_received_total', { ingress: 'pull', path: 'conn' });
  try {
    const messages = loadCapture('cluster', 'smtp.jsonl');
    for (const m of messages) await sock.send(m);
    await eventually(async () => (await connReceived()) === 9);
    const conn = messages.filter((m) => m[3]!.includes('Conn::LOG'));
    assert.equal(conn.length, 6);
    const before = gw.gateway.schemas.describe('conn') as { senders: Record<string, Array<{ name: string; type: string }>> };
    assert.deepEqual(Object.keys(before.senders), ['worker-1@vm'], 'keyed by the node name, not the per-run id');
    assert.ok(before.senders['worker-1@vm']!.some((f) => f.name === 'history' && f.type === 'string'));
    assert.equal(await changes(), 0);

    // The worker comes back (a new pid and id) with conn's `history` now called `history_v2`.
    const restarted = 'zeromq_worker-1_vm_16001_RestartedAfterUpgrade';
    for (const m of conn) await sock.send([m[0]!, Buffer.from(restarted), m[2]!, renameSchemaField(m[3]!, 'history', 'history_v2')]);
    await eventually(async () => (await connReceived()) === 18);
    assert.equal(await changes(), 1, 'one change, not one per batch');
    assert.equal(schemaLines().length, 1, 'one log line');
    const line = schemaLines()[0]!;
    assert.equal(line.level, 'warn');
    assert.deepEqual(
      { path: line.path, sender: line.sender, added: line.added, removed: line.removed, retyped: line.retyped },
      { path: 'conn', sender: 'worker-1@vm', added: ['history_v2'], removed: ['history'], retyped: [] },
    );

    // GET /schemas/conn now shows the new field, with its JSON Schema.
    const res = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/schemas/conn`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { senders: Record<string, Array<{ name: string }>>; jsonSchema: { properties: Record<string, unknown> } };
    assert.ok(body.senders['worker-1@vm']!.some((f) => f.name === 'history_v2'));
    assert.deepEqual(body.jsonSchema.properties.history_v2, { type: 'string', 'x-zeek-type': 'string' });
    assert.equal(body.jsonSchema.properties.history, undefined);

    // Nothing lost: the records under the new schema are the old ones with the field renamed.
    const got = (await collectAmqp(queue, { count: 18, timeoutMs: 30_000 })).map((m) => m.content.toString());
    assert.equal(got.length, 18);
    const renamed = got.slice(0, 9).map((l) => l.replace('"history":', '"history_v2":'));
    assert.ok(renamed.some((l, i) => l !== got[i]), 'some conn records have a history');
    assert.deepEqual(got.slice(9), renamed);

    // A sender flapping between schemas: every change counts, the log line is rate-limited per path and sender.
    for (const m of conn) await sock.send([m[0]!, Buffer.from(restarted), m[2]!, m[3]!]);
    await eventually(async () => (await connReceived()) === 27);
    assert.equal(await changes(), 2);
    assert.equal(schemaLines().length, 1);
  } finally {
    http.close();
    await gw.stop();
  }
});

test("Zeek-native output: the worker's own lines with the logger's scope separator and field-name map, inline with _path and _system_name", async () => {
  const id = uniqueName('native');
  const exchange = `zlg-${id}`;
  const queue = await declareTestQueue(exchange, 'conn');
  const gw = await startFixture(
    {
      sinks: { rabbit: { type: 'amqp', url: AMQP_URL, exchange, declareExchange: { name: exchange } } },
      routing: { routes: [{ match: ['conn'], envelope: 'inline', systemName: '{sender}', destinations: [{ sink: 'rabbit' }] }] },
    },
    {
      ingress: (endpoint) => ({
        sub: { enabled: false },
        pull: { enabled: true, endpoints: [endpoint], json: { scopeSeparator: '_', fieldNameMap: { id_orig_h: 'src_ip', uid: 'zeek_uid' } } },
      }),
    },
  );
  const sock = gw.push();
  try {
    for (const m of loadCapture('cluster', 'smtp.jsonl')) await sock.send(m);
    // What Zeek writes with Log::default_scope_sep = "_" and that field-name map: its own lines, keys renamed.
    const rename: Record<string, string> = { uid: 'zeek_uid', 'id.orig_h': 'src_ip', 'id.orig_p': 'id_orig_p', 'id.resp_h': 'id_resp_h', 'id.resp_p': 'id_resp_p' };
    const want = readLogLines('cluster', 'smtp.logs', 'worker-local-json', 'conn.log').map(
      (line) => `{"_path":"conn","_system_name":"worker-1@vm",${line.slice(1).replace(/"(uid|id\.orig_h|id\.orig_p|id\.resp_h|id\.resp_p)":/g, (_, k: string) => `"${rename[k]}":`)}`,
    );
    const got = (await collectAmqp(queue, { count: want.length, timeoutMs: 30_000 })).map((m) => m.content.toString());
    assert.equal(got.length, 9);
    assert.deepEqual(got, want);
    // GET /schemas describes the records under the keys they are written with.
    const conn = gw.gateway.schemas.describe('conn') as { jsonSchema: { properties: Record<string, { 'x-zeek-name'?: string }> } };
    assert.equal(conn.jsonSchema.properties.src_ip!['x-zeek-name'], 'id.orig_h');
    for (const line of got) {
      for (const key of Object.keys(JSON.parse(line) as object).slice(2)) assert.ok(conn.jsonSchema.properties[key], `${key} in the JSON Schema`);
    }
    assert.equal(conn.jsonSchema.properties['id.orig_h'], undefined);
  } finally {
    await gw.stop();
  }
});
