// The replay tool over real ZeroMQ: real log files → XPUB (connects) → a SUB bound here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as zmq from 'zeromq';
import { replay, ReplayError, type ReplayOptions } from '../../src/tools/replay/index.js';
import { ZeekLogParser } from '../../src/zeek/tsv/parser.js';
import { runCli } from '../helpers/cli.js';
import { eventually, freePort, metricValue, withGateway } from '../helpers/gateway.js';
import { loadCapture, readTestFile, testdataPath } from '../helpers/testdata.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'zlg-replay-it-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A SUB socket bound on a free port, collecting every message it receives. */
async function subscriber(prefixes: string[] = []) {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const sock = new zmq.Subscriber({ receiveHighWaterMark: 0, linger: 0 });
  if (prefixes.length === 0) sock.subscribe();
  else sock.subscribe(...prefixes);
  await sock.bind(endpoint);
  const got: Buffer[][] = [];
  const loop = (async () => {
    try {
      for await (const frames of sock) got.push(frames);
    } catch {
      // closed
    }
  })();
  return {
    endpoint,
    got,
    close: async () => {
      sock.close();
      await loop;
    },
  };
}

function options(endpoint: string, files: string[], extra: Partial<ReplayOptions> = {}): ReplayOptions {
  return {
    files,
    endpoint,
    pace: { mode: 'fast' },
    loops: 1,
    dryRun: false,
    sendHighWaterMark: 1000,
    subscribeTimeoutMs: 5000,
    connectPauseMs: 0,
    lingerMs: 5000,
    progress: false,
    stdout: process.stdout,
    stderr: { write: () => true },
    ...extra,
  };
}

/** What the TSV file must turn into, by the converter (checked against Zeek's JSON in the unit tests). */
function convertTsv(...parts: string[]): string[] {
  const p = new ZeekLogParser();
  const out: string[] = [];
  for (const line of readTestFile(...parts).toString('utf8').split('\n')) {
    const r = p.parseLine(Buffer.from(line));
    if (r.kind === 'record') out.push(r.json.toString('utf8'));
  }
  return out;
}

test('a JSON log and TSV logs (one gzip) arrive as [path, JSON] messages, all, in order', async () => {
  const sub = await subscriber();
  try {
    // JSON: the same run as the NCSA capture, so the plugin's own messages are the expectation.
    const jsonLog = testdataPath('ncsa', 'http-non-printable-characters.logs', 'http.log');
    const pluginSent = loadCapture('ncsa', 'http-non-printable-characters.jsonl').filter((f) => f[0]!.toString() === 'http');
    const tsvLog = testdataPath('cluster', 'wikipedia.logs', 'tsv', 'dns.log');
    const gzLog = join(dir, 'x509.2024-01-01-00-00-00.log.gz');
    writeFileSync(gzLog, gzipSync(readTestFile('cluster', 'globus-url-copy-bad-encoding.logs', 'tsv', 'x509.log')));

    const expected = [
      ...pluginSent.map((f) => ['http', f[1]!.toString('utf8')]),
      ...convertTsv('cluster', 'wikipedia.logs', 'tsv', 'dns.log').map((j) => ['dns', j]),
      ...convertTsv('cluster', 'globus-url-copy-bad-encoding.logs', 'tsv', 'x509.log').map((j) => ['x509', j]),
    ];
    assert.equal(expected.length, 4 + 34 + 8);

    const summary = await replay(options(sub.endpoint, [jsonLog, tsvLog, gzLog]));
    assert.equal(summary.records, expected.length);
    assert.deepEqual([...summary.perPath], [['http', 4], ['dns', 34], ['x509', 8]]);
    assert.equal(summary.rejected, 0);
    assert.equal(summary.unsubscribed, 0);
    assert.deepEqual(summary.fileErrors, []);

    await eventually(() => sub.got.length >= expected.length, 10_000, `${expected.length} messages`);
    assert.ok(sub.got.every((f) => f.length === 2), 'every message has exactly 2 frames');
    assert.deepEqual(
      sub.got.map((f) => [f[0]!.toString('utf8'), f[1]!.toString('utf8')]),
      expected,
    );
    // Byte for byte what the plugin sent, including the raw UTF-8 emoji and the escaped 0x07.
    sub.got.slice(0, 4).forEach((f, i) => assert.ok(f[1]!.equals(pluginSent[i]![1]!)));
  } finally {
    await sub.close();
  }
});

test('no subscriber at the endpoint: a clear fatal error, quickly', async () => {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const started = performance.now();
  await assert.rejects(
    replay(options(endpoint, [testdataPath('cluster', 'wikipedia.logs', 'tsv', 'dns.log')], { subscribeTimeoutMs: 300 })),
    (e: unknown) => e instanceof ReplayError && e.message === `no gateway subscribed at ${endpoint} within 300 ms`,
  );
  assert.ok(performance.now() - started < 3000);
});

test('records of paths the gateway does not subscribe to are counted as dropped', async () => {
  const sub = await subscriber(['conn']);
  try {
    const files = ['conn.log', 'dns.log'].map((f) => testdataPath('cluster', 'wikipedia.logs', 'tsv', f));
    const summary = await replay(options(sub.endpoint, files));
    assert.equal(summary.records, 68);
    assert.equal(summary.unsubscribed, 34);
    await eventually(() => sub.got.length >= 34, 10_000, '34 conn messages');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sub.got.length, 34);
    assert.ok(sub.got.every((f) => f[0]!.toString() === 'conn'));
  } finally {
    await sub.close();
  }
});

test('the CLI: replay FILE... sends, prints the summary, exits 0', async () => {
  const sub = await subscriber();
  try {
    const file = testdataPath('ncsa', 'wikipedia.logs', 'http.log');
    const p = runCli(['replay', '--endpoint', sub.endpoint, '--rate', '200', file]);
    const code = await p.exit;
    const stderr = p.stderr();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /^replayed 14 records in [\d.]+ s \(\d+ records\/s\) to tcp:\/\/127\.0\.0\.1:\d+\n {2}http {2}14\n$/);
    await eventually(() => sub.got.length >= 14, 10_000, '14 messages');
    assert.deepEqual(
      sub.got.map((f) => f[1]!.toString()),
      readTestFile('ncsa', 'wikipedia.logs', 'http.log').toString().trimEnd().split('\n'),
    );
  } finally {
    await sub.close();
  }
});

test('into the real gateway (full validation): every TSV record of a pcap comes out of a file sink', async () => {
  const out = join(dir, 'gateway-out.jsonl');
  const config = {
    sinks: { out: { type: 'console', file: out, envelope: 'raw' } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'out' }] }] },
  };
  const ingress = (endpoint: string) => ({ sub: { endpoints: [endpoint], validation: 'full' } });
  await withGateway(config, async (gw) => {
    const tsvDir = testdataPath('cluster', 'smtp.logs', 'tsv');
    const files = readdirSync(tsvDir).sort();
    const expected = files.flatMap((f) => convertTsv('cluster', 'smtp.logs', 'tsv', f));
    const summary = await replay(options(gw.endpoint, files.map((f) => join(tsvDir, f))));
    assert.equal(summary.records, expected.length);
    const lines = (): string[] => {
      try {
        return readFileSync(out, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    await eventually(() => lines().length >= expected.length, 10_000, `${expected.length} records in the sink`);
    assert.deepEqual(lines(), expected);
    assert.equal(await metricValue(gw.metrics, 'zeek_gateway_ingress_rejected_total'), 0);
  }, { ingress });
});
