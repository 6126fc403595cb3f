// Metric names, types and labels are an interface (dashboards, alerts, other tools' tests):
// the declarations must produce exactly these series, with scrape-time gauges refreshed on scrape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelCap, METRICS, Metrics, senderLabel, type MetricSpec } from '../../../src/ops/metrics.js';

const INTERFACE: Record<string, [type: string, labels: string[]]> = {
  zeek_gateway_ingress_messages_total: ['counter', ['ingress']],
  zeek_gateway_records_received_total: ['counter', ['ingress', 'path', 'sender']],
  zeek_gateway_ingress_rejected_total: ['counter', ['ingress', 'reason']],
  zeek_gateway_schema_changes_total: ['counter', ['path']],
  zeek_gateway_records_routed_total: ['counter', ['path']],
  zeek_gateway_records_unrouted_total: ['counter', ['path', 'reason']],
  zeek_gateway_sink_published_total: ['counter', ['sink', 'path']],
  zeek_gateway_sink_acknowledged_total: ['counter', ['sink', 'path']],
  zeek_gateway_sink_retries_total: ['counter', ['sink']],
  zeek_gateway_sink_dropped_total: ['counter', ['sink', 'reason']],
  zeek_gateway_dead_letters_total: ['counter', ['source', 'reason']],
  zeek_gateway_sink_buffer_records: ['gauge', ['sink']],
  zeek_gateway_sink_buffer_bytes: ['gauge', ['sink']],
  zeek_gateway_sink_buffer_max_records: ['gauge', ['sink']],
  zeek_gateway_sink_buffer_max_bytes: ['gauge', ['sink']],
  zeek_gateway_sink_spool_max_bytes: ['gauge', ['sink']],
  zeek_gateway_sink_spool_bytes: ['gauge', ['sink']],
  zeek_gateway_sink_spool_lost_records_total: ['counter', ['sink']],
  zeek_gateway_sink_spool_write_errors_total: ['counter', ['sink', 'code']],
  zeek_gateway_sink_connected: ['gauge', ['sink']],
  zeek_gateway_delivery_latency_seconds: ['histogram', ['sink']],
  zeek_gateway_zmq_events_total: ['counter', ['ingress', 'event']],
  zeek_gateway_curve_auth_total: ['counter', ['ingress', 'result']],
  zeek_gateway_config_reloads_total: ['counter', ['result']],
};

test('the registry exports exactly the declared metrics, with the names, types and labels of the interface', async () => {
  const m = new Metrics();
  const exported = Object.fromEntries(
    (await m.registry.getMetricsAsJSON()).map((x) => [x.name, x.type.toString()]),
  );
  assert.deepEqual(exported, Object.fromEntries(Object.entries(INTERFACE).map(([n, [t]]) => [n, t])));
  for (const spec of Object.values(METRICS) as MetricSpec[]) {
    assert.deepEqual([...spec.labelNames], INTERFACE[spec.name]?.[1], spec.name);
    assert.ok(spec.help.length > 0, `${spec.name} has a help text`);
  }
});

test('each declaration is a typed property: label values land in the series of that metric', async () => {
  const m = new Metrics();
  m.sinkDropped.labels('k', 'buffer-full').inc(3);
  m.deliveryLatency.labels('k').observe(0.002);
  const text = await m.registry.metrics();
  assert.match(text, /^zeek_gateway_sink_dropped_total\{sink="k",reason="buffer-full"\} 3$/m);
  assert.match(text, /^zeek_gateway_delivery_latency_seconds_bucket\{le="0\.0025",sink="k"\} 1$/m);
});

test('scrape hooks refresh the scrape-time gauges before they are read', async () => {
  const m = new Metrics();
  let bytes = 10;
  m.onScrape(() => m.spoolDiskBytes.labels('k').set(bytes));
  assert.match(await m.registry.metrics(), /^zeek_gateway_sink_spool_bytes\{sink="k"\} 10$/m);
  bytes = 25;
  assert.match(await m.registry.metrics(), /^zeek_gateway_sink_spool_bytes\{sink="k"\} 25$/m);
});

test('process metrics only when asked, under the gateway prefix', async () => {
  assert.doesNotMatch(await new Metrics().registry.metrics(), /zeek_gateway_process_/);
  assert.match(await new Metrics({ processMetrics: true }).registry.metrics(), /^zeek_gateway_process_cpu_seconds_total/m);
});

test('label caps: values from the network stop at the cap; sender ids lose their restart-specific parts', () => {
  const cap = new LabelCap(2);
  assert.deepEqual(['a', 'b', 'c', 'a'].map((v) => cap.value(v)), ['a', 'b', '_other', 'a']);
  assert.equal(senderLabel('zeromq_worker-1_host1_4242_aBc9'), 'worker-1@host1');
  assert.equal(senderLabel(undefined), '');
  assert.equal(senderLabel('plain'), 'plain');
});

test('hot series (per-record counting) expose exactly what prom-client shows for the same increments and observations', async () => {
  const direct = new Metrics();
  const hot = new Metrics();
  // On a bound, between bounds, above every bound (+Inf only), and a counter touched with 0.
  const latencies = [0.0005, 0.0007, 0.002, 0.0025, 7, 61, 120, 0.0001];
  for (const v of latencies) direct.deliveryLatency.labels('k').observe(v);
  direct.recordsRouted.labels('conn').inc(5);
  direct.recordsRouted.labels('dns').inc(0);
  const latency = hot.hotHistogram('deliveryLatency', 'k');
  for (const v of latencies) latency.observe(v);
  const conn = hot.hotCounter('recordsRouted', 'conn');
  for (let i = 0; i < 5; i++) conn.inc();
  hot.hotCounter('recordsRouted', 'dns').inc(0);
  assert.equal(hot.hotCounter('recordsRouted', 'conn'), conn, 'one series object per label values');
  assert.equal(await hot.registry.metrics(), await direct.registry.metrics());
  // Counted on after a scrape: the next scrape adds to what was exposed.
  latency.observe(0.004);
  direct.deliveryLatency.labels('k').observe(0.004);
  conn.inc(2);
  direct.recordsRouted.labels('conn').inc(2);
  assert.equal(await hot.registry.metrics(), await direct.registry.metrics());
  assert.match(await hot.registry.metrics(), /^zeek_gateway_records_routed_total\{path="conn"\} 7$/m);
  assert.match(await hot.registry.metrics(), /^zeek_gateway_delivery_latency_seconds_count\{sink="k"\} 9$/m);
});

test('hot series appear only once counted, like prom-client series', async () => {
  const m = new Metrics();
  m.hotCounter('ingressMessages', 'sub');
  m.hotHistogram('deliveryLatency', 'k');
  const text = await m.registry.metrics();
  assert.doesNotMatch(text, /^zeek_gateway_ingress_messages_total\{/m);
  assert.doesNotMatch(text, /^zeek_gateway_delivery_latency_seconds_count\{/m);
});
