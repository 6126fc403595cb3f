import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { startHttp } from '../../../src/ops/http.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { SchemaCatalog } from '../../../src/zeek/schemas.js';
import { TypeTag } from '../../../src/zeek/types.js';

test('GET /schemas and /schemas/<path> serve the catalog; unknown paths are 404', async (t) => {
  const catalog = new SchemaCatalog();
  catalog.observe('dns-2', 'worker-1', [{ name: 'ts', type: TypeTag.TIME, subtype: 0, optional: false }]);
  const server = await startHttp({ host: '127.0.0.1', port: 0, registry: new Metrics().registry, readiness: () => ({ ready: true }), schemas: catalog });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const all = await fetch(`${base}/schemas`);
  assert.equal(all.status, 200);
  const body = (await all.json()) as Record<string, { senders: Record<string, unknown> }>;
  assert.deepEqual(body['dns-2']!.senders, { 'worker-1': [{ name: 'ts', type: 'time', optional: false }] });
  const one = (await (await fetch(`${base}/schemas/dns-2`)).json()) as { jsonSchema: { properties: Record<string, unknown> } };
  assert.deepEqual(one.jsonSchema.properties.ts, { type: ['number', 'null'], 'x-zeek-type': 'time' });
  assert.equal((await fetch(`${base}/schemas/conn`)).status, 404);
  assert.equal((await fetch(`${base}/schemas/%E0%A4%A`)).status, 404);
});
