// README: "Label values that come from the network (paths, senders) are capped at 256 distinct
// values per label; more show as _other." Checked on the metrics of a running PULL ingress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { eventually, freePort, metricValue, startGateway } from '../../helpers/gateway.js';
import { Wire, logWriteFrames } from '../zeek/binary/encode.js';

/** The cap README states ("capped at N distinct values per label"). */
function readmeCap(): number {
  const m = /capped at ([\d,]+) distinct values per label/.exec(readFileSync('README.md', 'utf8').replace(/\s+/g, ' '));
  assert.ok(m, 'README states the label cap');
  return Number(m[1]?.replace(/,/g, ''));
}

test('paths and senders from the network: 256 distinct label values each (as README says), the rest as _other, every record counted', async () => {
  const cap = readmeCap();
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const gw = await startGateway({
    ingress: { sub: { enabled: false }, pull: { enabled: true, endpoints: [endpoint] } },
    sinks: { out: { type: 'console', file: join(mkdtempSync(join(tmpdir(), 'zlg-labels-')), 'out.jsonl') } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'out' }] }] },
  });
  const push = new zmq.Push({ linger: 0 });
  push.connect(endpoint);
  try {
    const n = 300;
    assert.ok(cap < n, `more distinct values than README's cap ${cap}`);
    for (let i = 0; i < n; i++) {
      const payload = new Wire().header(`path${i}`).u32(1).field('n', 3).u32(2).count(1n).count(2n).build();
      await push.send(logWriteFrames(payload, `zeromq_worker-${i}_sensor_4242_X${i}`));
    }
    await eventually(async () => (await metricValue(gw.metrics, 'zeek_gateway_records_received_total')) === 2 * n, 20_000, 'every record counted');
    const values = (await gw.metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'zeek_gateway_records_received_total')!.values;
    const distinct = (label: string): Set<string> => new Set(values.map((v) => String(v.labels[label])));
    for (const label of ['path', 'sender']) {
      const seen = distinct(label);
      assert.equal(seen.size, cap + 1, `${label}: ${cap} values and _other`);
      assert.ok(seen.has('_other'));
    }
    assert.ok(distinct('sender').has('worker-0@sensor'), 'senders are labelled by node and host');
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_records_received_total', { sender: '_other' }), 2 * (n - cap));
  } finally {
    push.close();
    await gw.stop(0);
  }
});
