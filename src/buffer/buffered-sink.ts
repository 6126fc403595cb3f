import type { Logger } from '../ops/log.js';
import { RateLimitedLog } from '../ops/log.js';
import { LabelCap, type Metrics } from '../ops/metrics.js';
import type { BufferOptions } from './options.js';
import { BoundedCache } from '../util/bounded-cache.js';
import { HeldMemory } from './held-memory.js';
import { MemoryStore } from './memory-store.js';
import { HandedOverStore, keptOnClose } from './handed-over-store.js';
import { spoolOptionsFor } from './spool/options.js';
import type { Address, OutboundMessage } from '../record.js';
import type { Batch, MessageStore } from './store.js';
import type { SendResult, Transport } from '../sinks/transport.js';

/** Receives records a sink gives up on for good (broker refusal), e.g. a dead-letter sink. */
export type RejectHandler = (message: OutboundMessage, reason: string, sink: string) => void;

export interface BufferedSinkDeps {
  metrics: Metrics;
  logger: Logger;
  onRejected?: RejectHandler | undefined;
  /** Sinks that must be connected for /readyz (default true). */
  required?: boolean | undefined;
  /**
   * Opens where records wait (a disk spool, with the older directories its backlog marker names);
   * in memory when absent. Called by start() with the spool directories a running instance still
   * delivers, which it must not open (two spools never share a directory).
   */
  openStore?: ((busyDirs: readonly string[]) => Promise<MessageStore>) | undefined;
  /** The sink kind's check of a rendered address (see SinkKind.validateAddress). */
  validateAddress?: ((address: Address) => string | undefined) | undefined;
}

/** Distinct paths whose counters a sink caches (real Zeek setups have a few dozen). */
const MAX_CACHED_PATHS = 4096;

/** Why a record whose address the broker cannot take (too long, illegal name) was refused. */
export const INVALID_ADDRESS = 'invalid_address';

/**
 * A sink: a bounded buffer in front of one broker transport. It owns the high-water
 * marks, the when-full policy, batching, retries with backoff and the sink metrics.
 * A record leaves the buffer only when the broker acknowledged it (or refused it for
 * good, which is counted and handed to the reject handler).
 *
 * The high-water mark is checked per offered record; under `block` the buffer takes
 * the record and reports itself full, so the ingress stops reading before the next
 * message. The overshoot is therefore at most one ingress message (a cluster batch).
 */
export class BufferedSink {
  private store: MessageStore = new MemoryStore();
  /** Batches handed to the transport and not yet settled. */
  private readonly inFlight = new Set<Batch>();
  /** In-flight batches that wait only for a destination to appear; they do not hold later batches back. */
  private readonly waiting = new Set<Batch>();
  /** A reload is handing this instance's records to its successor: no new batches go out. */
  private handingOver = false;
  private settledWaiters: Array<() => void> = [];
  /** Failed batches wait here until every in-flight batch settled, then go back in order. */
  private failed: Batch[] = [];
  private consecutiveFailures = 0;
  private retryAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private closed = false;
  private writableWaiters: Array<() => void> = [];
  private emptyWaiters: Array<() => void> = [];

  /** Where held records live: all their bytes in blocks of this sink's own (see HeldMemory). */
  readonly memory = new HeldMemory();
  private readonly log: RateLimitedLog;
  /**
   * Addresses that passed the kind's check: target → routing keys. Paths interleave in a batch, so
   * remembering only the last one re-checked nearly every record (a regular expression per record
   * for Kafka topics). Rendered from network paths, so cleared beyond a bound.
   */
  private readonly checked = new Map<string, Set<string | undefined>>();
  private checkedCount = 0;
  private readonly pathLabels = new LabelCap();
  /** Counters per path: paths come from the network, so only so many are cached. */
  private readonly published = new BoundedCache<{ inc(n: number): void }>(MAX_CACHED_PATHS);
  private readonly acked = new BoundedCache<{ inc(n: number): void }>(MAX_CACHED_PATHS);
  private readonly latency;
  private readonly connectedGauge;
  private readonly stopReporting: () => void;
  /** Replaced or removed by a reload: the gauges of this sink's name belong to its successor. */
  private retired = false;
  readonly required: boolean;

  constructor(
    readonly name: string,
    readonly kind: string,
    private readonly transport: Transport,
    readonly options: BufferOptions,
    private readonly deps: BufferedSinkDeps,
  ) {
    this.required = deps.required ?? true;
    this.log = new RateLimitedLog(deps.logger.child({ sink: name }));
    this.latency = deps.metrics.hotHistogram('deliveryLatency', name);
    this.connectedGauge = deps.metrics.sinkConnected.labels(name);
    this.claimGauges();
    this.stopReporting = deps.metrics.onScrape(() => {
      deps.metrics.sinkBufferRecords.labels(name).set(this.records);
      deps.metrics.sinkBufferBytes.labels(name).set(this.bytes);
    });
    transport.onStateChange = (connected) => this.onConnectionChange(connected);
  }

  get blocking(): boolean {
    return this.options.whenFull === 'block';
  }

  /** Records held: waiting plus awaiting acknowledgement. */
  get records(): number {
    return this.store.records;
  }

  get bytes(): number {
    return this.store.bytes;
  }

  /** Held records survive a restart (a disk spool) instead of being lost at close. */
  get keepsRecords(): boolean {
    return this.store.persistent === true;
  }

  /** Of the records held, those that close() keeps on disk for the next start (the rest it drops). */
  get keptRecords(): number {
    return keptOnClose(this.store);
  }

  /** Predecessors' spool directories this instance is still delivering (see adopt()), oldest first. */
  get deliveringFrom(): string[] {
    const s = this.store;
    return s instanceof HandedOverStore ? s.backlogDirs : [];
  }

  /** The directory this instance's spool lives in, when it has one. */
  get spoolDir(): string | undefined {
    return this.options.spool?.enabled ? spoolOptionsFor(this.options.spool, this.name).dir : undefined;
  }

  isConnected(): boolean {
    return this.transport.isConnected();
  }

  /**
   * Sets the gauges of this sink's name (connected, buffer limits) from this instance. A reload
   * builds a replacement that may never come into force: whichever instance is in force claims
   * the gauges again (start, and a failed reload's rollback).
   */
  claimGauges(): void {
    this.connectedGauge.set(this.transport.isConnected() ? 1 : 0);
    if (!this.options.spool?.enabled) {
      this.deps.metrics.sinkBufferMaxRecords.labels(this.name).set(this.options.maxRecords);
      this.deps.metrics.sinkBufferMaxBytes.labels(this.name).set(this.options.maxBytes);
    }
  }

  isFull(): boolean {
    // A spool has its own size limit and counts records that are only on disk.
    return this.store.full ?? (this.records >= this.options.maxRecords || this.bytes >= this.options.maxBytes);
  }

  /** Opens the store (see BufferedSinkDeps.openStore for `busyDirs`) and connects. */
  async start(busyDirs: readonly string[] = []): Promise<void> {
    if (this.deps.openStore) {
      this.store = await this.deps.openStore(busyDirs);
      this.store.onWritable = () => this.storeWritable();
      // Records kept from the previous run go out first.
      if (this.store.records > 0) {
        this.deps.logger.info({ sink: this.name, records: this.store.records }, 'delivering records kept in the spool');
        this.schedule();
      }
    }
    await this.transport.start();
  }

  /** Takes a record for delivery, applying the when-full policy. Never throws. */
  offer(message: OutboundMessage): void {
    if (this.closed) {
      this.drop(1, 'closed');
      return;
    }
    if (this.isFull()) {
      if (this.options.whenFull === 'drop-newest') {
        this.drop(1, 'buffer-full');
        return;
      }
      if (this.options.whenFull === 'drop-oldest') {
        // Only waiting records can go; in-flight ones are already with the broker.
        this.drop(1, 'buffer-full');
        if (!this.store.dropOldest()) return;
      }
    }
    this.store.push(this.memory.hold(message));
    this.schedule();
  }

  /** Resolves once the buffer is below its high-water mark (immediately if it is). */
  whenWritable(): Promise<void> {
    if (!this.isFull() || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /**
   * Waits until everything held was acknowledged or `timeoutMs` passed, and returns
   * how many records are still undelivered.
   */
  async drain(timeoutMs: number): Promise<number> {
    if (this.records > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.emptyWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    return this.records;
  }

  /**
   * A reload replaced or removed this sink: it stops updating the gauges of its name (the
   * counters keep adding up), so that a successor of the same name reports alone.
   */
  retire(): void {
    this.retired = true;
    this.stopReporting();
  }

  /**
   * A reload replaces this instance: it sends no new batch, waits up to `timeoutMs` for the
   * batches in flight to settle, and gives up its store with every record not acknowledged, in
   * order (batches still unsettled then go with them: their late outcome no longer counts here,
   * so they may arrive twice, never not at all). The instance is closed afterwards; the caller
   * owns the store (see adopt()).
   */
  async handOver(timeoutMs: number): Promise<MessageStore> {
    this.handingOver = true;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.settledWaiters.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    const store = this.store;
    store.giveBack([...this.failed, ...this.inFlight]);
    this.failed = [];
    this.inFlight.clear();
    this.waiting.clear();
    store.onWritable = undefined;
    this.store = new MemoryStore();
    await this.close();
    return store;
  }

  /**
   * Takes a predecessor's store (see handOver()): its records go out before any this instance
   * takes. `onEmptied` runs once they are all delivered (a spool's directory is removed there).
   */
  adopt(predecessor: MessageStore, onEmptied: (store: MessageStore) => Promise<void>): void {
    // Records from memory into this instance's spool: from now on they survive a restart too.
    if (!predecessor.persistent && this.store.persistent) {
      const all = predecessor.take(Infinity, Infinity);
      if (all) {
        for (const m of all.messages) this.store.push(m);
        predecessor.settle(all);
      }
      this.schedule();
    }
    if (predecessor.records === 0) {
      void onEmptied(predecessor);
      return;
    }
    this.store = new HandedOverStore(predecessor, this.store, onEmptied);
    this.store.onWritable = () => this.storeWritable();
    this.schedule();
  }

  /** Stops sending and closes the broker connection. Held records are counted as dropped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    const left = this.records;
    const kept = keptOnClose(this.store);
    if (kept > 0) this.deps.logger.warn({ sink: this.name, records: kept, spool: this.store.location }, 'undelivered records kept in the spool for the next start');
    if (left > kept) this.drop(left - kept, 'shutdown');
    this.releaseWaiters();
    await this.transport.close();
    await this.store.close();
  }

  private drop(count: number, reason: string): void {
    this.deps.metrics.sinkDropped.labels(this.name, reason).inc(count);
    if (reason !== 'shutdown') {
      this.log.warn(`drop:${reason}`, { reason, policy: this.options.whenFull }, 'sink dropped records');
    }
  }

  private onConnectionChange(connected: boolean): void {
    if (!this.retired) this.connectedGauge.set(connected ? 1 : 0);
    if (connected) {
      // A fresh connection: retry right away instead of waiting out the backoff.
      this.consecutiveFailures = 0;
      this.retryAt = 0;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.schedule();
    }
  }

  /** Coalesces wake-ups so that records offered in one tick travel in one batch. */
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    if (now < this.retryAt || this.failed.length > 0) {
      if (this.failed.length === 0) this.armRetryTimer(this.retryAt - now);
      return;
    }
    while (this.inFlight.size - this.waiting.size < this.options.maxInFlight && !this.handingOver) {
      const batch = this.store.take(this.options.batchMaxRecords, this.options.batchMaxBytes);
      if (batch === undefined) break;
      this.inFlight.add(batch);
      void this.send(batch);
    }
  }

  private armRetryTimer(delay: number): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, delay);
    // A pending retry alone must not keep a stopping process alive.
    this.retryTimer.unref();
  }

  private async send(batch: Batch): Promise<void> {
    const { sendable, invalid } = this.screen(batch.messages);
    this.countByPath(this.published, this.deps.metrics.sinkPublished, sendable);
    let outcome: { result: SendResult } | { err: Error };
    const hooks = {
      waiting: () => {
        if (!this.inFlight.has(batch) || this.waiting.has(batch)) return;
        this.waiting.add(batch);
        this.schedule();
      },
    };
    try {
      outcome = { result: sendable.length > 0 ? await this.transport.send(sendable, hooks) : {} };
    } catch (err) {
      outcome = { err: err as Error };
    }
    this.waiting.delete(batch);
    // Handed to a successor meanwhile (see handOver()): the outcome is no longer this instance's.
    if (!this.inFlight.delete(batch)) return;
    const ok = 'result' in outcome;
    try {
      if ('result' in outcome) this.delivered(batch, outcome.result, invalid);
      else this.failedBatch(batch, outcome.err);
    } finally {
      if (ok) this.store.settle(batch);
      // Failed batches go back once nothing is in flight, whether the last one to settle failed or not.
      if (this.failed.length > 0) this.requeueFailedWhenSettled();
      this.afterSettle();
    }
  }

  private delivered(batch: Batch, result: SendResult, invalid: OutboundMessage[] | undefined): void {
    this.consecutiveFailures = 0;
    const rejected = invalid ? [...invalid.map((message) => ({ message, reason: INVALID_ADDRESS })), ...(result.rejected ?? [])] : (result.rejected ?? []);
    let refused: Set<OutboundMessage> | undefined;
    if (rejected.length > 0) {
      refused = new Set();
      for (const r of rejected) {
        refused.add(r.message);
        this.drop(1, r.reason);
        this.deps.onRejected?.(r.message, r.reason, this.name);
      }
    }
    this.acknowledge(batch.messages, refused);
  }

  private failedBatch(batch: Batch, err: Error): void {
    this.consecutiveFailures++;
    const delay = Math.min(
      this.options.retryMaxMs,
      this.options.retryInitialMs * 2 ** Math.min(this.consecutiveFailures - 1, 20),
    );
    this.retryAt = Date.now() + delay;
    this.deps.metrics.sinkRetries.labels(this.name).inc();
    this.log.warn(
      'send-failed',
      { err: err.message, records: batch.messages.length, retryInMs: delay, held: this.records },
      'batch not acknowledged; will retry',
    );
    this.failed.push(batch);
  }

  /**
   * Separates the records whose address the broker cannot take: sent, they would fail the
   * whole batch on every retry (RabbitMQ closes the channel on a routing key over 255 bytes)
   * and hold back every good record behind them.
   */
  private screen(messages: OutboundMessage[]): { sendable: OutboundMessage[]; invalid: OutboundMessage[] | undefined } {
    const validate = this.deps.validateAddress;
    if (validate === undefined) return { sendable: messages, invalid: undefined };
    let invalid: OutboundMessage[] | undefined;
    for (const m of messages) {
      const a = m.address;
      // Records of a path share one address: check each new one once.
      if (this.checked.get(a.target)?.has(a.routingKey) === true) continue;
      const problem = validate(a);
      if (problem === undefined) {
        this.rememberChecked(a);
        continue;
      }
      (invalid ??= []).push(m);
      this.log.warn(INVALID_ADDRESS, { problem, path: m.record.path }, 'record refused: the broker cannot take its address');
    }
    if (invalid === undefined) return { sendable: messages, invalid };
    const refused = new Set(invalid);
    return { sendable: messages.filter((m) => !refused.has(m)), invalid };
  }

  private rememberChecked(a: Address): void {
    if (++this.checkedCount > MAX_CACHED_PATHS) {
      this.checked.clear();
      this.checkedCount = 1;
    }
    let keys = this.checked.get(a.target);
    if (keys === undefined) this.checked.set(a.target, (keys = new Set()));
    keys.add(a.routingKey);
  }

  /** Failed batches go back to the front in their original order once nothing else is in flight. */
  private requeueFailedWhenSettled(): void {
    if (this.inFlight.size > 0) return;
    this.store.giveBack(this.failed);
    this.failed = [];
    this.armRetryTimer(Math.max(0, this.retryAt - Date.now()));
  }

  private acknowledge(messages: readonly OutboundMessage[], refused: Set<OutboundMessage> | undefined): void {
    const now = performance.now();
    const acked = refused ? messages.filter((m) => !refused.has(m)) : messages;
    for (const m of acked) this.latency.observe((now - m.record.receivedAt) / 1000);
    this.countByPath(this.acked, this.deps.metrics.sinkAcked, acked);
  }

  private countByPath(
    cache: BoundedCache<{ inc(n: number): void }>,
    counter: Metrics['sinkAcked'],
    messages: readonly OutboundMessage[],
  ): void {
    // Batches are mostly one path: count runs instead of one increment per record.
    let i = 0;
    while (i < messages.length) {
      const path = (messages[i] as OutboundMessage).record.path;
      let j = i + 1;
      while (j < messages.length && (messages[j] as OutboundMessage).record.path === path) j++;
      const child = cache.get(path) ?? cache.keep(path, counter.labels(this.name, this.pathLabels.value(path)));
      child.inc(j - i);
      i = j;
    }
  }


  private afterSettle(): void {
    if (this.inFlight.size === 0 && this.settledWaiters.length > 0) {
      const waiters = this.settledWaiters;
      this.settledWaiters = [];
      for (const w of waiters) w();
    }
    if (!this.isFull()) this.releaseWritable();
    if (this.records === 0) {
      const waiters = this.emptyWaiters;
      this.emptyWaiters = [];
      for (const w of waiters) w();
    }
    this.schedule();
  }

  /** The store can take records again without a batch having settled (a spool's disk has space again). */
  private storeWritable(): void {
    if (!this.isFull()) this.releaseWritable();
    this.schedule();
  }

  private releaseWritable(): void {
    if (this.writableWaiters.length === 0) return;
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const w of waiters) w();
  }

  private releaseWaiters(): void {
    this.releaseWritable();
    for (const w of this.settledWaiters.splice(0)) w();
    const waiters = this.emptyWaiters;
    this.emptyWaiters = [];
    for (const w of waiters) w();
  }
}
