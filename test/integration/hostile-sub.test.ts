// A million hostile messages at the SUB ingress, interleaved with real records:
// no crash, bounded memory, every valid record delivered, every bad one counted by reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, writeConfig } from '../helpers/cli.js';
import { eventually, freePort, ncsaPublisher } from '../helpers/gateway.js';
import { loadCapture, PCAPS } from '../helpers/testdata.js';

const TOTAL = Number(process.env.ZLG_HOSTILE_MESSAGES ?? 1_000_000);
const MAX_MESSAGE = 16 * 1024;
const valid = PCAPS.flatMap((p) => loadCapture('ncsa', `${p}.jsonl`));

type Case = { reason: string | null; make: (i: number) => Buffer[] };
const body = (i: number): Buffer => valid[i % valid.length]![1]!;
const path = (i: number): Buffer => valid[i % valid.length]![0]!;

/** Each kind of bad input with the reason it must be rejected for (null: valid). */
const CASES: Case[] = [
  { reason: null, make: (i) => [path(i), body(i)] },
  { reason: 'frame-count', make: (i) => [path(i)] },
  { reason: 'frame-count', make: (i) => [path(i), body(i), body(i)] },
  { reason: 'empty-path', make: (i) => [Buffer.alloc(0), body(i)] },
  { reason: 'path-too-long', make: (i) => [Buffer.alloc(256 + (i % 100), 0x61), body(i)] },
  { reason: 'path-not-printable', make: (i) => [Buffer.from([0x63, 0x6f, i % 0x20, 0x6e]), body(i)] },
  { reason: 'path-not-printable', make: (i) => [Buffer.from(`co nn${i % 10}`), body(i)] },
  { reason: 'body-not-object', make: (i) => [path(i), body(i).subarray(0, body(i).length - 1 - (i % 7))] },
  { reason: 'body-not-object', make: (i) => [path(i), Buffer.from(`not json ${i}`)] },
  { reason: 'body-not-object', make: (i) => [path(i), Buffer.from(`[${i}]`)] },
  { reason: 'body-not-object', make: (i) => [path(i), Buffer.alloc(0)] },
  { reason: 'body-not-utf8', make: (i) => [path(i), Buffer.from([0x7b, 0x22, 0xc3, 0x28 + (i % 8), 0x22, 0x7d])] },
  { reason: 'body-not-utf8', make: (i) => [path(i), Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe, i & 0x7f]), Buffer.from('"}')])] },
];
const OVERSIZED: Case = { reason: 'too-large', make: () => [Buffer.from('conn'), Buffer.alloc(MAX_MESSAGE + 1, 0x7b)] };

/** Deterministic mix: every 3rd message is valid, every 5000th oversized, the rest cycle through the bad cases. */
function caseFor(i: number): Case {
  if (i % 3 === 0) return CASES[0]!;
  if (i % 5000 === 1) return OVERSIZED;
  return CASES[1 + (i % (CASES.length - 1))]!;
}

function rssOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

async function counters(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(zeek_gateway_(?:ingress_messages_total|ingress_rejected_total|records_received_total|sink_acknowledged_total))(\{[^}]*\})? (\d+)/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, (out.get(`${m[1]}${m[2] ?? ''}`) ?? 0) + Number(m[3]));
  }
  return out;
}
const sum = (c: Map<string, number>, prefix: string): number => [...c].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

test(`SUB ingress survives ${TOTAL.toLocaleString()} mutated messages and delivers every valid one`, { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zlg-hostile-'));
  const out = join(dir, 'out.jsonl');
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  const config = writeConfig({
    log: { level: 'warn' },
    http: { port: httpPort },
    ingress: { sub: { endpoints: [endpoint], maxMessageSize: MAX_MESSAGE } },
    sinks: { rabbitmq: { enabled: false }, kafka: { enabled: false }, out: { type: 'console', file: out, envelope: 'raw' } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'out' }] }] },
  });
  const gateway = runCli(['run', '--config', config]);
  const child = gateway.child;
  let exited = false;
  void gateway.exit.then(() => (exited = true));
  try {
    await eventually(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.ok === true, 30_000, 'gateway up');
    const pub = await ncsaPublisher(endpoint);
    const expected = new Map<string, number>();
    let validCount = 0;
    let baseline = 0;
    const WINDOW = 20_000;
    for (let i = 0; i < TOTAL; i++) {
      const c = caseFor(i);
      await pub.send(c.make(i));
      if (c.reason === null) validCount++;
      else expected.set(c.reason, (expected.get(c.reason) ?? 0) + 1);
      if (i % WINDOW === WINDOW - 1) {
        // PUB/SUB cannot push back: keep at most WINDOW messages in flight so nothing valid is dropped by ZeroMQ.
        await eventually(async () => sum(await counters(httpPort), 'zeek_gateway_ingress_messages_total') >= i + 1 - WINDOW, 60_000, 'gateway keeping up');
        if (i + 1 === 200_000) baseline = rssOf(child.pid!).rss;
        assert.equal(exited, false, `gateway exited:\n${gateway.stderr().slice(-20_000)}`);
      }
    }
    await eventually(async () => sum(await counters(httpPort), 'zeek_gateway_ingress_messages_total') === TOTAL, 60_000, 'all messages read');
    await eventually(async () => sum(await counters(httpPort), 'zeek_gateway_sink_acknowledged_total') === validCount, 60_000, 'all valid records written');
    pub.close();

    const c = await counters(httpPort);
    for (const [reason, n] of expected) {
      assert.equal(c.get(`zeek_gateway_ingress_rejected_total{ingress="sub",reason="${reason}"}`), n, `rejected ${reason}`);
    }
    assert.equal(sum(c, 'zeek_gateway_ingress_rejected_total'), TOTAL - validCount, 'nothing else rejected');
    assert.equal(sum(c, 'zeek_gateway_records_received_total'), validCount);

    // Every valid record arrived, in order, byte for byte.
    let n = 0;
    for await (const line of createInterface({ input: createReadStream(out) })) {
      assert.equal(line, body(n * 3).toString(), `record ${n}`);
      n++;
    }
    assert.equal(n, validCount);

    const mem = rssOf(child.pid!);
    if (baseline > 0) assert.ok(mem.rss - baseline < 96 * 1024 * 1024, `RSS grew from ${baseline} to ${mem.rss}`);
    assert.ok(mem.hwm < 512 * 1024 * 1024, `peak RSS ${mem.hwm}`);
    assert.match(gateway.stderr(), /message rejected/, 'rejections are logged');
    const lines = gateway.stderr().split('\n').filter((l) => l.includes('message rejected')).length;
    assert.ok(lines < 200, `rejection log lines are rate-limited (${lines})`);
  } finally {
    child.kill('SIGTERM');
  }
});
