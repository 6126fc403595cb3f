import { compileGlob } from './glob.js';
import type { LogRecord } from '../record.js';

/** Where a routed record went, as the tap shows it. */
export interface TapDestination {
  readonly sink: string;
  /** Exchange or topic (the path for console sinks). */
  readonly target: string;
  readonly routingKey?: string | undefined;
  /** The route that chose this destination (`default` for the default route). */
  readonly route: string;
}

/** What the router decided for a record's path. */
export interface TapPlan {
  readonly path: string;
  readonly destinations: readonly TapDestination[];
  readonly unrouted?: string | undefined;
}

export interface TapFilter {
  /** Glob on the routed path (`dns*`). */
  path?: string | undefined;
  /** Only records a route of this name chose a destination for. */
  route?: string | undefined;
  /** Only records going to this sink. */
  sink?: string | undefined;
}

/** The writable end of one tap client (an HTTP response). */
export interface TapOutput {
  write(chunk: string): unknown;
  end(): unknown;
  /** Bytes queued and not yet taken by the client. */
  readonly writableLength: number;
}

export interface TapSubscription extends TapFilter {
  /** Lines to send before ending the stream; 0 for no limit. */
  limit: number;
  /** Most lines per second; records beyond are skipped (and counted in the next line). */
  ratePerSecond: number;
}

/** A slow client never holds the pipeline: past this much unsent output, records are skipped. */
const MAX_QUEUED_BYTES = 256 * 1024;

class Subscriber {
  private readonly pathRe: RegExp | undefined;
  private tokens: number;
  private refilledAt: number;
  private sent = 0;
  /** Records that matched but were skipped (rate cap or slow client) since the last line. */
  private skipped = 0;

  constructor(
    private readonly sub: TapSubscription,
    private readonly out: TapOutput,
    private readonly done: () => void,
    private readonly now: () => number,
  ) {
    this.pathRe = sub.path ? compileGlob(sub.path) : undefined;
    this.tokens = sub.ratePerSecond;
    this.refilledAt = now();
  }

  offer(record: LogRecord, plan: TapPlan): void {
    if (this.pathRe && !this.pathRe.test(plan.path)) return;
    if (this.sub.route !== undefined && !plan.destinations.some((d) => d.route === this.sub.route)) return;
    if (this.sub.sink !== undefined && !plan.destinations.some((d) => d.sink === this.sub.sink)) return;
    if (!this.take() || this.out.writableLength > MAX_QUEUED_BYTES) {
      this.skipped++;
      return;
    }
    this.out.write(tapLine(record, plan, this.skipped));
    this.skipped = 0;
    if (this.sub.limit > 0 && ++this.sent >= this.sub.limit) this.close();
  }

  close(): void {
    this.done();
    this.out.end();
  }

  /** A token bucket of one second's worth: bursts up to the rate, never above it on average. */
  private take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.sub.ratePerSecond, this.tokens + ((t - this.refilledAt) / 1000) * this.sub.ratePerSecond);
    this.refilledAt = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * The live tap: shows records as they are routed to the clients attached to it (the
 * `zeek-log-gateway tap` command over GET /-/tap). The router calls offer() only while
 * `active` is true, so with no client attached the hot path costs one boolean check;
 * with clients, each gets at most its rate of lines and never blocks the pipeline.
 */
export class Tap {
  /** True while a client is attached: the router's only check on the hot path. */
  active = false;
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  get clients(): number {
    return this.subscribers.size;
  }

  /** Attaches a client; returns the function that detaches it (when the client goes away). */
  attach(sub: TapSubscription, out: TapOutput): () => void {
    const detach = (): void => {
      this.subscribers.delete(s);
      this.active = this.subscribers.size > 0;
    };
    const s = new Subscriber(sub, out, detach, this.now);
    this.subscribers.add(s);
    this.active = true;
    return detach;
  }

  offer(record: LogRecord, plan: TapPlan): void {
    for (const s of this.subscribers) s.offer(record, plan);
  }

  /** Ends every client's stream (at shutdown). */
  closeAll(): void {
    for (const s of [...this.subscribers]) s.close();
  }
}

/** One NDJSON line: where the record went, then the record itself as Zeek wrote it. */
export function tapLine(record: LogRecord, plan: TapPlan, skipped: number): string {
  const head = {
    path: plan.path,
    rawPath: record.path,
    ingress: record.ingress,
    sender: record.sender ?? '',
    routes: [...new Set(plan.destinations.map((d) => d.route))],
    destinations: plan.destinations.map((d) => ({ sink: d.sink, target: d.target, routingKey: d.routingKey, route: d.route })),
    unrouted: plan.unrouted ?? null,
    skipped,
  };
  const text = JSON.stringify(head);
  return `${text.slice(0, -1)},"record":${record.json.toString('utf8')}}\n`;
}
