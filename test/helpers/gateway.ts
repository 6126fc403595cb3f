// Runs a real gateway in-process for integration tests, and Zeek-like publishers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import * as zmq from 'zeromq';
import { loadConfig, type GatewayConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { Metrics } from '../../src/ops/metrics.js';
import { createLogger, silentLogger, type Logger } from '../../src/ops/log.js';

/** A free TCP port on 127.0.0.1 (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningGateway {
  gateway: Gateway;
  metrics: Metrics;
  stop(lingerMs?: number): Promise<number>;
}

/**
 * Starts a gateway from a config object layered over config/default.json, exactly as
 * `--config file` would. The shipped default sinks are disabled unless the test
 * redefines them. Set ZLG_TEST_LOG=debug to see the gateway's logs (or pass a logger).
 */
export async function startGateway(config: Record<string, unknown>, opts: { logger?: Logger } = {}): Promise<RunningGateway> {
  const loaded = testConfig(config);
  const metrics = new Metrics();
  const level = process.env.ZLG_TEST_LOG;
  const logger = opts.logger ?? (level ? createLogger({ level: level as 'debug' }) : silentLogger());
  const gateway = new Gateway(loaded, metrics, logger);
  await gateway.start();
  return { gateway, metrics, stop: (linger = 5000) => gateway.stop(linger) };
}

/**
 * A config object layered over config/default.json as `--config file` would load it, with the
 * shipped default sinks disabled unless redefined (what startGateway runs, and what a test
 * hands to gateway.reload()).
 */
export function testConfig(config: Record<string, unknown>): GatewayConfig {
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-test-')), 'config.json');
  const sinks = (config.sinks ?? {}) as Record<string, unknown>;
  const merged = {
    http: { enabled: false },
    ...config,
    sinks: { rabbitmq: { enabled: false }, kafka: { enabled: false }, ...sinks },
  };
  writeFileSync(file, JSON.stringify(merged));
  return loadConfig([file], {}).config;
}

/** Sum of a metric's values whose labels include `labels`. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  let sum = 0;
  for (const v of m?.values ?? []) {
    if (Object.entries(labels).every(([k, val]) => v.labels[k] === val)) sum += v.value;
  }
  return sum;
}

/**
 * A Zeek-like NCSA publisher: connects to the gateway's SUB endpoint like the plugin's
 * PUB does. It is an XPUB so that it can wait until the gateway's subscription arrived:
 * plain PUB would drop the first messages (the slow-joiner problem).
 */
export async function ncsaPublisher(endpoint: string, timeoutMs = 5000): Promise<{
  send(frames: Buffer[]): Promise<void>;
  close(): void;
}> {
  const pub = new zmq.XPublisher({ sendHighWaterMark: 0, linger: 2000 });
  pub.connect(endpoint);
  const sub = pub.receive();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('gateway never subscribed')), timeoutMs).unref());
  await Promise.race([sub, timeout]);
  return { send: (frames) => pub.send(frames), close: () => pub.close() };
}

/** Polls until `fn` returns true or fails after `timeoutMs`. */
export async function eventually(fn: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Closes a test's sending socket at once (linger 0; what it sent was already taken in). A
 * lingering closed PUSH keeps reconnecting to its old endpoint, which a later test's gateway
 * may bind again (freePort): libzmq 4.3.5 then aborted the test process on
 * `_state == term_ack_sent` in pipe.cpp.
 */
export function closeNow(socket: zmq.Socket): void {
  socket.linger = 0;
  socket.close();
}
