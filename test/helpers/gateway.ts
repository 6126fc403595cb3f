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
  const gateway = await Gateway.create(loaded, metrics, logger);
  await gateway.start();
  return { gateway, metrics, stop: (linger = 5000) => gateway.stop(linger) };
}

/**
 * A config object layered over config/default.json as `--config file` would load it, with the
 * shipped default sinks disabled unless redefined (what startGateway runs, and what a test
 * hands to gateway.reload()).
 */
export function testConfig(config: Record<string, unknown>): GatewayConfig {
  return loadConfig([testConfigFile(config)], {}).config;
}

/** The config file testConfig loads (for what reads files itself, such as configReloader). */
export function testConfigFile(config: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-test-')), 'config.json');
  const sinks = (config.sinks ?? {}) as Record<string, unknown>;
  const merged = {
    http: { enabled: false },
    ...config,
    sinks: { rabbitmq: { enabled: false }, kafka: { enabled: false }, ...sinks },
  };
  writeFileSync(file, JSON.stringify(merged));
  return file;
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
export async function ncsaPublisher(endpoint: string, timeoutMs = 5000): Promise<Sender & { close(): void }> {
  const pub = new zmq.XPublisher({ sendHighWaterMark: 0, linger: 2000 });
  await subscribed(pub, endpoint, timeoutMs);
  return { send: (frames) => pub.send(frames), close: () => pub.close() };
}

/** Something that sends ZeroMQ messages to the gateway. */
export interface Sender {
  send(frames: Buffer[]): Promise<void>;
}

/** Connects `pub` to `endpoint` and waits for the gateway's subscription. */
async function subscribed(pub: zmq.XPublisher, endpoint: string, timeoutMs: number): Promise<void> {
  pub.connect(endpoint);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('gateway never subscribed')), timeoutMs);
  });
  try {
    await Promise.race([pub.receive(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Polling lives in wait.ts; re-exported for the tests that import it from here.
export { eventually } from './wait.js';

/**
 * Closes a test's sending socket at once (linger 0; what it sent was already taken in). A
 * lingering closed PUSH keeps reconnecting to its old endpoint, which a later test's gateway
 * may bind again (freePort), and would hand that gateway its leftovers. (The libzmq aborts once
 * blamed on this came from the ingress unbinding during a receive: see src/ingress/receiver.ts.)
 */
export function closeNow(socket: zmq.Socket): void {
  socket.linger = 0;
  socket.close();
}

// ---------------------------------------------------------------------------------------------
// The fixture every in-process integration test uses: a gateway on a free port, the senders the
// test connects to it, and one teardown that closes those senders at once before the gateway stops.

/** Which ingress listens on the fixture's endpoint: SUB (NCSA), PULL (cluster), or a section of your own. */
export type FixtureIngress = 'sub' | 'pull' | ((endpoint: string) => Record<string, unknown>);

export interface FixtureOptions {
  /** Default 'sub'. The config passed to the fixture must leave `ingress` to it. */
  ingress?: FixtureIngress;
  logger?: Logger;
}

export interface GatewayFixture extends RunningGateway {
  /** tcp://127.0.0.1:<free port>, where the ingress listens. */
  readonly endpoint: string;
  /** A Zeek-like NCSA publisher on `endpoint`, once the gateway has subscribed. */
  publisher(timeoutMs?: number): Promise<Sender>;
  /** A PUSH socket (a Zeek cluster node's) connected to `endpoint`; `options` e.g. CURVE keys. */
  push(options?: zmq.SocketOptions<zmq.Push>): zmq.Push;
  /** A socket the test made itself, closed at teardown like the fixture's own. */
  track<S extends zmq.Socket>(socket: S): S;
  /**
   * Closes every sender at once (closeNow), then stops the gateway; resolves with what it could not
   * deliver. Later calls return the first call's result, so a test may stop early and assert.
   */
  stop(lingerMs?: number): Promise<number>;
}

function ingressSection(ingress: FixtureIngress, endpoint: string): Record<string, unknown> {
  if (ingress === 'sub') return { sub: { endpoints: [endpoint] } };
  if (ingress === 'pull') return { sub: { enabled: false }, pull: { enabled: true, endpoints: [endpoint] } };
  return ingress(endpoint);
}

/** Starts a gateway (see startGateway) whose ingress listens on a free port. Prefer withGateway. */
export async function startFixture(config: Record<string, unknown>, opts: FixtureOptions = {}): Promise<GatewayFixture> {
  if ('ingress' in config) throw new Error('startFixture: set the ingress with opts.ingress, it needs the fixture\'s endpoint');
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const running = await startGateway({ ...config, ingress: ingressSection(opts.ingress ?? 'sub', endpoint) }, { logger: opts.logger });
  const senders: zmq.Socket[] = [];
  const track = <S extends zmq.Socket>(socket: S): S => {
    senders.push(socket);
    return socket;
  };
  let stopped: Promise<number> | undefined;
  const stop = async (lingerMs?: number): Promise<number> => {
    for (const s of senders) if (!s.closed) closeNow(s);
    return running.stop(lingerMs);
  };
  return {
    ...running,
    endpoint,
    track,
    async publisher(timeoutMs = 5000) {
      const pub = track(new zmq.XPublisher({ sendHighWaterMark: 0, linger: 2000 }));
      await subscribed(pub, endpoint, timeoutMs);
      return { send: (frames) => pub.send(frames) };
    },
    push(options = {}) {
      const push = track(new zmq.Push({ sendHighWaterMark: 0, linger: 2000, ...options }));
      push.connect(endpoint);
      return push;
    },
    stop: (lingerMs) => (stopped ??= stop(lingerMs)),
  };
}

/**
 * Runs `fn` against a fixture gateway (startFixture) and tears it down afterwards, whether `fn`
 * passed or threw: senders closed at once, then the gateway stopped.
 */
export async function withGateway<T>(
  config: Record<string, unknown>,
  fn: (gw: GatewayFixture) => Promise<T>,
  opts: FixtureOptions = {},
): Promise<T> {
  const gw = await startFixture(config, opts);
  try {
    return await fn(gw);
  } finally {
    await gw.stop();
  }
}
