// The alert rules and the Grafana dashboard in deploy/ work against the gateway as it is:
// promtool parses and unit-tests the rules, parses every dashboard query, and every metric
// they name is one a running gateway exposes on /metrics. Needs promtool (Debian's
// `prometheus` package; scripts/ops-tools.sh installs it, .ci/run runs that): fails without it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli, scrapeText, whenReady, writeConfig, type CliProcess } from '../../helpers/cli.js';
import { freePort, ncsaPublisher } from '../../helpers/gateway.js';

const ROOT = process.cwd();
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('promtool not found: bash scripts/ops-tools.sh installs it');
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}
const alertRules = (parse(read('deploy/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

// ---------------------------------------------------------------------------------------------
// Dashboard queries

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown; allValue?: string }> };
}
const dashboard = JSON.parse(read('deploy/grafana/zeek-log-gateway.json')) as Dashboard;

/** Every PromQL query of the dashboard, with the panel it belongs to. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  // Variable queries: label_values(<expr>, <label>) is Grafana's, not PromQL; its series selector is.
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    const m = /^label_values\((.+),\s*\w+\)$/.exec(q);
    assert.ok(m, `variable ${v.name}: a label_values(metric, label) query (${q})`);
    out.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return out;
}

/** What Grafana substitutes before sending a query: its interval variables and our template variables. */
function substituteVariables(expr: string): string {
  const variables = new Set(dashboard.templating.list.map((v) => v.name));
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
      assert.ok(variables.has(name), `${m} is a dashboard variable`);
      return '.*';
    });
}

const metricNames = (expr: string): string[] => [...new Set(expr.match(/\bzeek_gateway_[a-z0-9_]+\b/g) ?? [])];

// ---------------------------------------------------------------------------------------------
// A running gateway: what it exposes

let gw: CliProcess | undefined;
let httpPort = 0;
let exposed = new Set<string>();

before(async () => {
  httpPort = await freePort();
  const sub = `tcp://127.0.0.1:${await freePort()}`;
  const dir = mkdtempSync(join(tmpdir(), 'zlg-monitoring-'));
  // One sink in memory, one with a disk spool, so both kinds of buffer gauges exist.
  const file = writeConfig({
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    ingress: { sub: { enabled: true, endpoints: [sub] } },
    sinks: {
      rabbitmq: { enabled: false },
      kafka: { enabled: false },
      memory: { type: 'console', file: join(dir, 'memory.out') },
      spooled: { type: 'console', file: join(dir, 'spooled.out'), buffer: { spool: { enabled: true, dir: join(dir, 'spool') } } },
    },
    routing: { routes: [{ name: 'all', match: ['*'], destinations: [{ sink: 'memory' }, { sink: 'spooled' }] }] },
  });
  gw = runCli(['run', '--config', file]);
  await whenReady(gw, httpPort);
  // A few records so that histogram buckets and per-path series exist too.
  const pub = await ncsaPublisher(sub);
  for (let i = 0; i < 5; i++) await pub.send([Buffer.from('conn'), Buffer.from(JSON.stringify({ ts: i, uid: `C${i}` }))]);
  pub.close();
  const deadline = Date.now() + 10_000;
  let text = '';
  while (Date.now() < deadline) {
    text = await scrapeText(httpPort);
    if (/^zeek_gateway_delivery_latency_seconds_count\{sink="spooled"\} 5$/m.test(text)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  exposed = exposedNames(text);
});

after(async () => {
  gw?.child.kill('SIGTERM');
  await gw?.exit;
});

/** Metric names in Prometheus text: sample names, and the series names each TYPE line implies. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
    } else if (line && !line.startsWith('#')) names.add(line.split(/[{ ]/, 1)[0]!);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------

test('alerts.yml: promtool checks the rules and their unit tests pass', () => {
  assert.match(promtool('check', 'rules', 'deploy/prometheus/alerts.yml'), /SUCCESS: \d+ rules found/);
  assert.match(promtool('test', 'rules', 'deploy/prometheus/alerts.test.yml'), /SUCCESS/);
});

test('alerts.yml: every alert has a severity, a summary and a runbook line the README answers', () => {
  const readme = read('README.md');
  const alertsSection = readme.slice(readme.indexOf('### Alerts'));
  assert.ok(readme.includes('### Alerts'), 'README has an Alerts section');
  assert.ok(alertRules.length >= 10);
  for (const r of alertRules) {
    assert.ok(r.alert, `only alerting rules (${r.record ?? r.expr})`);
    assert.match(r.labels?.severity ?? '', /^(critical|warning)$/, r.alert);
    assert.ok(r.annotations?.summary, `${r.alert}: summary`);
    assert.equal(r.annotations?.runbook, `README.md#alerts (${r.alert})`, `${r.alert}: runbook`);
    assert.ok(alertsSection.includes(`**${r.alert}**`), `README's Alerts section explains ${r.alert}`);
  }
});

test('alerts.yml: each alert is unit-tested to fire in alerts.test.yml', () => {
  const tests = parse(read('deploy/prometheus/alerts.test.yml')) as {
    tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
  };
  const firing = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
  for (const r of alertRules) assert.ok(firing.has(r.alert!), `${r.alert} has a test where it fires`);
});

test('alerts.yml and the compose Prometheus config: every metric named is one the running gateway exposes', () => {
  assert.ok(exposed.has('zeek_gateway_records_received_total'), 'scraped the gateway');
  for (const r of alertRules) {
    for (const name of metricNames(r.expr)) assert.ok(exposed.has(name), `${r.alert}: ${name} is not exposed by the gateway`);
  }
  assert.match(promtool('check', 'config', 'deploy/prometheus/prometheus.yml'), /is valid prometheus config file/);
});

test('dashboard: promtool parses every query, and every metric it names is exposed by the running gateway', () => {
  const queries = dashboardQueries();
  assert.ok(queries.length >= 20, `the dashboard has its queries (${queries.length})`);
  // promtool has no command that only parses an expression; a rules file made of the queries,
  // one recording rule each, is parsed (and type-checked) by `promtool check rules`.
  const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: substituteVariables(q.expr) })) }] };
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-dash-')), 'dashboard-rules.json');
  writeFileSync(file, JSON.stringify(rules));
  assert.match(promtool('check', 'rules', file), new RegExp(`SUCCESS: ${queries.length} rules found`));
  const covered = new Set<string>();
  for (const q of queries) {
    const names = metricNames(q.expr);
    assert.ok(names.length > 0, `${q.where}: names a zeek_gateway_ metric (${q.expr})`);
    for (const name of names) {
      assert.ok(exposed.has(name), `${q.where}: ${name} is not exposed by the gateway`);
      covered.add(name);
    }
  }
  // What the issue asks the dashboard to show: rates per path and sink, latency, fill, drops, connections.
  for (const name of [
    'zeek_gateway_records_received_total',
    'zeek_gateway_sink_acknowledged_total',
    'zeek_gateway_delivery_latency_seconds_bucket',
    'zeek_gateway_sink_buffer_records',
    'zeek_gateway_sink_dropped_total',
    'zeek_gateway_sink_connected',
  ]) assert.ok(covered.has(name), `the dashboard shows ${name}`);
});

test('the metric check can fail: a misspelt metric and a broken query are caught', () => {
  assert.ok(!exposed.has('zeek_gateway_records_recieved_total'));
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-dash-')), 'bad.json');
  writeFileSync(file, JSON.stringify({ groups: [{ name: 'x', rules: [{ record: 'x:y', expr: 'sum by (path (rate(zeek_gateway_records_received_total[5m]))' }] }] }));
  assert.throws(() => promtool('check', 'rules', file), /promtool check rules .* failed/);
});
