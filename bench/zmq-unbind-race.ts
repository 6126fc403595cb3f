// Stress for the libzmq abort: a socket unbound (zeromq.js runs unbind() on a worker thread)
// while its receive() is in flight, with senders connecting and closing at that moment.
//
//   node --import tsx bench/zmq-unbind-race.ts [--seconds 60] [--modes raw,receiver,ingress] [--label x]
//
// Modes, each run in child processes (an abort kills only the child) until --seconds are spent:
//   raw       zeromq.js as the ingress used it before: `await pull.unbind(ep)` with a receive() pending
//   receiver  the same churn through src/ingress/receiver.ts (unbind waits for the receive in flight)
//   ingress   the real ZmqIngress (PULL, bound to several endpoints) started and stopped
// One iteration: a PULL bound to ENDPOINTS ports, a PUSH sender on each sending, then every endpoint
// unbound (stop() for `ingress`) while half the senders close. Per mode: children, iterations, aborts
// and the assertion libzmq printed. Results: bench/results/zmq-unbind-race-<date>[-label].{json,md}.
import * as zmq from 'zeromq';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { RECEIVE_TIMEOUT_MS, Receiver } from '../src/ingress/receiver.js';
import { ZmqIngress, ingressSocketOptions } from '../src/ingress/zmq-ingress.js';
import { ncsaHandler } from '../src/ingress/ncsa.js';
import { Metrics } from '../src/ops/metrics.js';
import { silentLogger } from '../src/ops/log.js';
import { freePort } from '../test/helpers/gateway.js';

const MODES = ['raw', 'receiver', 'ingress'] as const;
type Mode = (typeof MODES)[number];
const ENDPOINTS = 20;
const ITERATIONS_PER_CHILD = 50;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    modes: { type: 'string', default: MODES.join(',') },
    label: { type: 'string' },
    child: { type: 'string' },
  },
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** PUSH senders, one per endpoint, each with a message on its way. */
function senders(endpoints: readonly string[]): zmq.Push[] {
  return endpoints.map((ep) => {
    const s = new zmq.Push({ linger: 0, sendHighWaterMark: 0 });
    s.connect(ep);
    s.send(['conn', Buffer.alloc(200, 0x61)]).catch(() => undefined);
    return s;
  });
}

/** One iteration of the raw or receiver mode. */
async function socketRound(mode: 'raw' | 'receiver'): Promise<void> {
  const pull = new zmq.Pull({ linger: 0, ...(mode === 'receiver' ? { receiveTimeout: RECEIVE_TIMEOUT_MS } : {}) });
  const endpoints: string[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    await pull.bind('tcp://127.0.0.1:*');
    endpoints.push(pull.lastEndpoint!);
  }
  const receiver = new Receiver(pull);
  const loop = (async () => {
    try {
      for (;;) await (mode === 'raw' ? pull.receive() : receiver.receive());
    } catch {
      // Closed.
    }
  })();
  const pushes = senders(endpoints);
  await sleep(2);
  for (let i = 0; i < endpoints.length; i++) {
    if (i % 2) pushes[i]!.close();
    if (mode === 'raw') await pull.unbind(endpoints[i]!).catch(() => undefined);
    else await receiver.unbind([endpoints[i]!]);
  }
  for (const s of pushes) s.close();
  pull.close();
  await loop;
}

/** One iteration of the ingress mode: the gateway's own receive loop and stop(). */
async function ingressRound(context: zmq.Context): Promise<void> {
  const endpoints: string[] = [];
  for (let i = 0; i < ENDPOINTS; i++) endpoints.push(`tcp://127.0.0.1:${await freePort()}`);
  const ingress = ingressOn(endpoints, context);
  try {
    await ingress.start();
  } catch (err) {
    // A free port taken again meanwhile (a closing listener of the last round): another round.
    await ingress.stop(0);
    if ((err as { code?: string }).code === 'EADDRINUSE') return ingressRound(context);
    throw err;
  }
  const pushes = senders(endpoints);
  await sleep(2);
  pushes.forEach((s, i) => i % 2 && s.close());
  const stopping = ingress.stop(200);
  setTimeout(() => pushes.forEach((s) => s.close()), 1);
  await stopping;
}

function ingressOn(endpoints: string[], context: zmq.Context): ZmqIngress {
  return new ZmqIngress({
    name: 'pull',
    socket: new zmq.Pull(ingressSocketOptions({ receiveHighWaterMark: 1000, maxMessageSize: 1 << 20 }, { context })),
    endpoints,
    mode: 'bind',
    handler: ncsaHandler('pull', 'structural', 1 << 20),
    router: { route: () => undefined, mustWait: () => false, whenWritable: () => Promise.resolve() },
    metrics: new Metrics(),
    logger: silentLogger(),
  });
}

async function child(mode: Mode): Promise<void> {
  const context = new zmq.Context();
  for (let i = 0; i < ITERATIONS_PER_CHILD; i++) {
    if (mode === 'ingress') await ingressRound(context);
    else await socketRound(mode);
    // One character per finished iteration (stdout to a pipe is synchronous on Linux).
    process.stdout.write('.');
  }
  process.exit(0);
}

interface ModeResult {
  mode: Mode;
  children: number;
  iterations: number;
  aborts: number;
  seconds: number;
  messages: string[];
}

/** Runs one child; resolves with its finished iterations and how it ended. */
function runChild(mode: Mode): Promise<{ iterations: number; crashed: boolean; message: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let dots = 0;
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (dots += d.toString().split('.').length - 1));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code, signal) => {
      const assertion = /Assertion failed: [^\n]*/.exec(stderr)?.[0]?.replace(/\(\/root\/vcpkg\/[^)]*\/src\//, '(') ?? '';
      const crashed = signal !== null || code !== 0;
      resolve({ iterations: dots, crashed, message: crashed ? `${signal ?? `exit ${code}`} ${assertion || stderr.trim().split('\n').at(-1) || ''}`.trim() : '' });
    });
  });
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const modes = values.modes!.split(',') as Mode[];
  const results: ModeResult[] = [];
  for (const mode of modes) {
    if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
    const r: ModeResult = { mode, children: 0, iterations: 0, aborts: 0, seconds: 0, messages: [] };
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      const c = await runChild(mode);
      r.children++;
      r.iterations += c.iterations;
      if (c.crashed) {
        r.aborts++;
        r.messages.push(c.message);
      }
    }
    r.seconds = Math.round((performance.now() - started) / 100) / 10;
    console.log(`${mode}: ${r.iterations} iterations in ${r.children} children, ${r.aborts} aborts, ${r.seconds} s ${r.messages.slice(0, 3).join(' | ')}`);
    results.push(r);
  }
  const date = new Date().toISOString().slice(0, 10);
  const name = `zmq-unbind-race-${date}${values.label ? `-${values.label}` : ''}`;
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, zeromq: zmq.version, loadavg: loadavg() };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${name}.json`, `${JSON.stringify({ date: new Date().toISOString(), label: values.label, endpoints: ENDPOINTS, machine, results }, null, 2)}\n`);
  const rows = results.map((r) => {
    const kinds = [...new Set(r.messages)].join('; ') || '-';
    return `| ${r.mode} | ${r.iterations} | ${r.children} | ${r.aborts} | ${r.aborts ? Math.round(r.iterations / r.aborts) : '-'} | ${r.seconds} | ${kinds} |`;
  });
  writeFileSync(
    `bench/results/${name}.md`,
    [
      `# zmq-unbind-race ${date}${values.label ? ` (${values.label})` : ''}`,
      '',
      `\`node --import tsx bench/zmq-unbind-race.ts --seconds ${seconds} --modes ${modes.join(',')}\`, ${ENDPOINTS} endpoints per iteration, ${ITERATIONS_PER_CHILD} iterations per child; Node ${process.version}, libzmq ${zmq.version}, ${machine.cpus} cores, load ${machine.loadavg.map((x) => x.toFixed(1)).join(' ')}.`,
      '',
      '| mode | iterations | children | aborts | iterations per abort | seconds | how they ended |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
  console.log(`wrote bench/results/${name}.{json,md}`);
}

if (values.child) await child(values.child as Mode);
else await main();
