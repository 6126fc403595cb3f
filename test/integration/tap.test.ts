// The live tap on a real gateway process: `zeek-log-gateway tap` shows records as they are
// routed, its filters work, the rate cap holds, and it is off unless configured.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as zmq from 'zeromq';
import { runCli, whenReady, writeConfig, type CliProcess } from '../helpers/cli.js';
import { eventually, freePort } from '../helpers/gateway.js';
import { numberedRecord, seqOf, startLoad, type PacedLoad } from '../helpers/load.js';

let gw: CliProcess;
let httpPort = 0;
let push: zmq.Push;
let load: PacedLoad | undefined;

before(async () => {
  httpPort = await freePort();
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const dir = mkdtempSync(join(tmpdir(), 'zlg-tap-'));
  gw = runCli([
    'run',
    '--config',
    writeConfig({
      ingress: { sub: { enabled: false }, pull: { enabled: true, format: 'ncsa', endpoints: [endpoint] } },
      http: { enabled: true, host: '127.0.0.1', port: httpPort, tap: { enabled: true, maxRate: 50 } },
      sinks: {
        rabbitmq: { enabled: false },
        kafka: { enabled: false },
        net: { type: 'console', file: join(dir, 'net.out') },
        all: { type: 'console', file: join(dir, 'all.out') },
      },
      routing: {
        routes: [
          { name: 'network', match: ['conn', 'dns'], destinations: [{ sink: 'net' }, { sink: 'all' }] },
          { name: 'rest', match: ['*'], destinations: [{ sink: 'all' }] },
        ],
      },
    }),
  ]);
  await whenReady(gw, httpPort);
  push = new zmq.Push({ sendHighWaterMark: 0, linger: 0 });
  push.connect(endpoint);
  // A steady stream of real records (conn, dns, http, ...) at 2,000 per second until the end.
  load = startLoad({ rate: 2000, durationMs: 10 * 60_000, send: (f) => push.send(f) });
});

after(async () => {
  load?.stop();
  await load?.done;
  push?.close();
  gw?.child.kill('SIGTERM');
  await gw?.exit;
});

/** Runs `zeek-log-gateway tap` with `args` until it exits; its stdout lines. */
async function tap(args: string[]): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  const p = runCli(['tap', '--url', `http://127.0.0.1:${httpPort}`, ...args]);
  const code = await p.exit;
  return { code, lines: p.stdout().split('\n').filter(Boolean), stderr: p.logs.map((l) => l.msg).join('\n') };
}

interface Line {
  path: string;
  sender: string;
  routes: string[];
  destinations: Array<{ sink: string; target: string; route: string }>;
  skipped: number;
  record: Record<string, unknown>;
}
const parse = (lines: string[]): Line[] => lines.map((l) => JSON.parse(l) as Line);

test('records appear as routed: path, destinations and routes chosen, the record itself', async () => {
  const { code, lines } = await tap(['--limit', '20', '--json']);
  assert.equal(code, 0);
  const got = parse(lines);
  assert.equal(got.length, 20);
  for (const l of got) {
    const expected = l.path === 'conn' || l.path === 'dns' ? ['net', 'all'] : ['all'];
    assert.deepEqual(l.destinations.map((d) => d.sink), expected, `${l.path} goes where its route says`);
    assert.deepEqual(l.routes, [l.path === 'conn' || l.path === 'dns' ? 'network' : 'rest']);
    assert.equal(l.sender, '', 'NCSA records have no sender');
    // The record as sent, numbered by the load helper.
    assert.equal(typeof l.record._seq, 'number');
    const [path, body] = numberedRecord(l.record._seq as number);
    assert.equal(l.path, path!.toString());
    assert.equal(seqOf(body!), l.record._seq);
  }
});

test('filters: --path glob, --route, --sink', async () => {
  const dns = parse((await tap(['--limit', '5', '--json', '--path', 'dn*'])).lines);
  assert.equal(dns.length, 5);
  assert.ok(dns.every((l) => l.path === 'dns'));
  const rest = parse((await tap(['--limit', '5', '--json', '--route', 'rest'])).lines);
  assert.equal(rest.length, 5);
  assert.ok(rest.every((l) => l.path !== 'conn' && l.path !== 'dns'));
  const net = parse((await tap(['--limit', '5', '--json', '--sink', 'net'])).lines);
  assert.equal(net.length, 5);
  assert.ok(net.every((l) => l.destinations.some((d) => d.sink === 'net')));
});

test('the human format names path, sender and destinations', async () => {
  const { lines } = await tap(['--limit', '2', '--path', 'conn']);
  assert.match(lines[0]!, /^conn {2}- {2}→ net:conn \[network\], all:conn \[network\]/);
  assert.match(lines[1]!, /^ {2}\{.*"_seq":\d+\}$/);
});

test('rate cap: a client asking for more gets at most http.tap.maxRate lines per second; the rest are counted as skipped', async () => {
  const p = runCli(['tap', '--url', `http://127.0.0.1:${httpPort}`, '--json', '--rate', '100000']);
  const count = (): number => p.stdout().split('\n').filter(Boolean).length;
  // The tap command starting up is not what is measured: count from its first line on.
  await eventually(() => count() > 0, 60_000, 'first tap line');
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  p.child.kill('SIGINT');
  await p.exit;
  const seconds = (performance.now() - t0) / 1000;
  const got = parse(p.stdout().split('\n').filter(Boolean));
  // maxRate 50: at most a one-second burst plus 50 per second (the stream is 2,000/s).
  assert.ok(got.length <= 50 + 50 * (seconds + 0.5), `${got.length} lines in ${seconds.toFixed(1)} s`);
  assert.ok(got.length >= 20, `${got.length} lines in ${seconds.toFixed(1)} s`);
  const skipped = got.reduce((n, l) => n + l.skipped, 0);
  assert.ok(skipped > got.length * 5, `skipped ${skipped} records, shown ${got.length}`);
});

test('clients come and go; the gateway keeps delivering', async () => {
  const before = load!.sent;
  await tap(['--limit', '1', '--json']);
  await new Promise((r) => setTimeout(r, 300));
  const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
  assert.equal(r.status, 200);
  assert.ok(load!.sent > before);
});

test('off unless configured: 404, and the tap command says so', async () => {
  const port = await freePort();
  const off = runCli([
    'run',
    '--config',
    writeConfig({
      ingress: { sub: { enabled: true, endpoints: [`tcp://127.0.0.1:${await freePort()}`] } },
      http: { enabled: true, host: '127.0.0.1', port },
      sinks: { rabbitmq: { enabled: false }, kafka: { enabled: false }, out: { type: 'console', file: '/dev/null' } },
      routing: { routes: [{ match: ['*'], destinations: [{ sink: 'out' }] }] },
    }),
  ]);
  try {
    await whenReady(off, port);
    assert.equal((await fetch(`http://127.0.0.1:${port}/-/tap`)).status, 404);
    const p = runCli(['tap', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(await p.exit, 1);
    assert.match(p.logs.map((l) => l.msg).join('\n'), /404/);
  } finally {
    off.child.kill('SIGTERM');
    await off.exit;
  }
});
