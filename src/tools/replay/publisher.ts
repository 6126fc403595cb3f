/**
 * Where replayed records go: a ZeroMQ publisher that behaves like the NCSA plugin's PUB
 * socket (connects, sends `[path, JSON]`), or stdout for `--dry-run`.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import * as zmq from 'zeromq';

export interface RecordSink {
  send(path: string, json: Buffer): Promise<void>;
  /** Records sent while the peer had no matching subscription (ZeroMQ drops those). */
  readonly unsubscribed: number;
  close(): Promise<void>;
}

export interface PublisherOptions {
  readonly endpoint: string;
  readonly sendHighWaterMark: number;
  /** Wait this long for the gateway's subscription before sending (0: do not wait). */
  readonly subscribeTimeoutMs: number;
  /** Extra sleep after connecting, like the plugin's `zmq_connect_pause`. */
  readonly connectPauseMs: number;
  /** How long queued records may still go out after the last send. */
  readonly lingerMs: number;
}

export class ReplayError extends Error {}

/**
 * An XPUB rather than a PUB: it sees the subscriber's subscriptions, so the replay can
 * start exactly when the gateway listens (no slow-joiner loss, no guessed pause), and
 * count records that no subscription covers. `noDrop` makes a full queue wait instead of
 * dropping: a replay should not lose records to its own speed.
 */
export class ZmqPublisher implements RecordSink {
  unsubscribed = 0;
  private readonly prefixes = new Set<string>();
  private readonly covered = new Map<string, boolean>();
  private subscribed: Promise<void>;
  private markSubscribed: () => void = () => undefined;
  private readonly reader: Promise<void>;

  private constructor(
    private readonly socket: zmq.XPublisher,
    readonly endpoint: string,
  ) {
    this.subscribed = new Promise((resolve) => (this.markSubscribed = resolve));
    this.reader = this.readSubscriptions();
  }

  static async open(opts: PublisherOptions): Promise<ZmqPublisher> {
    const socket = new zmq.XPublisher({ sendHighWaterMark: opts.sendHighWaterMark, noDrop: true, linger: opts.lingerMs });
    socket.connect(opts.endpoint);
    const pub = new ZmqPublisher(socket, opts.endpoint);
    if (opts.subscribeTimeoutMs > 0) {
      const ac = new AbortController();
      const timedOut = sleep(opts.subscribeTimeoutMs, true, { signal: ac.signal }).catch(() => false);
      const ok = await Promise.race([pub.subscribed.then(() => false), timedOut]);
      ac.abort();
      if (ok) {
        await pub.close(0);
        throw new ReplayError(`no gateway subscribed at ${opts.endpoint} within ${opts.subscribeTimeoutMs} ms`);
      }
    }
    if (opts.connectPauseMs > 0) await sleep(opts.connectPauseMs);
    return pub;
  }

  private async readSubscriptions(): Promise<void> {
    try {
      for (;;) {
        const [msg] = await this.socket.receive();
        if (msg === undefined || msg.length === 0) continue;
        const prefix = msg.toString('latin1', 1);
        if (msg[0] === 1) this.prefixes.add(prefix);
        else if (msg[0] === 0) this.prefixes.delete(prefix);
        this.covered.clear();
        if (this.prefixes.size > 0) this.markSubscribed();
      }
    } catch {
      // The socket was closed.
    }
  }

  private isCovered(path: string): boolean {
    let hit = this.covered.get(path);
    if (hit === undefined) {
      hit = false;
      for (const p of this.prefixes) if (path.startsWith(p)) hit = true;
      this.covered.set(path, hit);
    }
    return hit;
  }

  async send(path: string, json: Buffer): Promise<void> {
    if (!this.isCovered(path)) this.unsubscribed++;
    await this.socket.send([path, json]);
  }

  /** Closes the socket; queued records keep going out for up to the linger time. */
  async close(lingerMs?: number): Promise<void> {
    if (lingerMs !== undefined) this.socket.linger = lingerMs;
    this.socket.close();
    await this.reader;
  }
}

/** `--dry-run`: `path<TAB>json` lines on a stream, waiting for it to drain. */
export class LineSink implements RecordSink {
  readonly unsubscribed = 0;
  private static readonly TAB = Buffer.from('\t');
  private static readonly NL = Buffer.from('\n');
  private broken = false;

  constructor(private readonly out: Writable) {
    // A closed pipe (`--dry-run | head`) stops the output; the caller sees the error too.
    out.on('error', () => (this.broken = true));
  }

  async send(path: string, json: Buffer): Promise<void> {
    if (this.broken) return;
    const line = Buffer.concat([Buffer.from(path, 'latin1'), LineSink.TAB, json, LineSink.NL]);
    if (!this.out.write(line)) await once(this.out, 'drain').catch(() => undefined);
  }

  async close(): Promise<void> {}
}
