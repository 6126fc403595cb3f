// The HTTP endpoints compose and Kubernetes probe: /metrics, /healthz, /readyz.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { startHttp } from '../../../src/ops/http.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { SchemaCatalog } from '../../../src/zeek/schemas.js';
import { TypeTag } from '../../../src/zeek/types.js';

async function serve(t: TestContext, readiness: () => { ready: boolean } & Record<string, unknown>, schemas?: SchemaCatalog) {
  const metrics = new Metrics();
  const server = await startHttp({ host: '127.0.0.1', port: 0, registry: metrics.registry, readiness, schemas });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { metrics, get: (path: string, init?: RequestInit) => fetch(base + path, init) };
}

test('/metrics serves the registry in the Prometheus text format', async (t) => {
  const { metrics, get } = await serve(t, () => ({ ready: true }));
  metrics.sinkConnected.labels('rabbitmq').set(1);
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(await res.text(), /^zeek_gateway_sink_connected\{sink="rabbitmq"\} 1$/m);
});

test('/healthz says the process serves; /readyz is 200 when ready and 503 when not, with the details', async (t) => {
  let state: { ready: boolean; sinks: Record<string, unknown> } = { ready: false, sinks: { k: { connected: false } } };
  const { get } = await serve(t, () => state);
  const health = await get('/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });

  const notReady = await get('/readyz');
  assert.equal(notReady.status, 503);
  assert.equal(notReady.headers.get('content-type'), 'application/json');
  assert.deepEqual(await notReady.json(), state);

  state = { ready: true, sinks: { k: { connected: true } } };
  const ready = await get('/readyz?verbose=1');
  assert.equal(ready.status, 200, 'the query string is ignored');
  assert.deepEqual(await ready.json(), state);
});

test('other paths are 404 listing the endpoints; other methods 405; HEAD works', async (t) => {
  const { get } = await serve(t, () => ({ ready: true }));
  const missing = await get('/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: 'not found', endpoints: ['/metrics', '/healthz', '/readyz'] });
  const post = await get('/metrics', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  const head = await get('/healthz', { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('a failing metrics collection answers 500 with the reason, and the server keeps serving', async (t) => {
  const { metrics, get } = await serve(t, () => ({ ready: true }));
  metrics.onScrape(() => {
    throw new Error('collector broke');
  });
  const res = await get('/metrics');
  assert.equal(res.status, 500);
  assert.match(await res.text(), /collector broke/);
  assert.equal((await get('/healthz')).status, 200);
});

test('a port in use fails startup with the error instead of serving nothing', async (t) => {
  const metrics = new Metrics();
  const first = await startHttp({ host: '127.0.0.1', port: 0, registry: metrics.registry, readiness: () => ({ ready: true }) });
  t.after(() => new Promise<void>((resolve) => first.close(() => resolve())));
  const port = (first.address() as AddressInfo).port;
  await assert.rejects(startHttp({ host: '127.0.0.1', port, registry: metrics.registry, readiness: () => ({ ready: true }) }), /EADDRINUSE/);
});

test('GET /schemas and /schemas/<path> serve the catalog; unknown paths are 404', async (t) => {
  const catalog = new SchemaCatalog();
  catalog.observe('dns-2', 'worker-1', [{ name: 'ts', type: TypeTag.TIME, subtype: 0, optional: false }]);
  const { get } = await serve(t, () => ({ ready: true }), catalog);
  const all = await get('/schemas');
  assert.equal(all.status, 200);
  const body = (await all.json()) as Record<string, { senders: Record<string, unknown> }>;
  assert.deepEqual(body['dns-2']!.senders, { 'worker-1': [{ name: 'ts', type: 'time', optional: false }] });
  const one = (await (await get('/schemas/dns-2')).json()) as { jsonSchema: { properties: Record<string, unknown> } };
  assert.deepEqual(one.jsonSchema.properties.ts, { type: ['number', 'null'], 'x-zeek-type': 'time' });
  assert.equal((await get('/schemas/conn')).status, 404);
  assert.equal((await get('/schemas/%E0%A4%A')).status, 404);
  assert.deepEqual(((await (await get('/nope')).json()) as { endpoints: string[] }).endpoints, ['/metrics', '/healthz', '/readyz', '/schemas', '/schemas/<path>']);
});
