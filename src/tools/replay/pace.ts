/**
 * When to send each record: as fast as possible, at a fixed rate, or at the records'
 * original pace (their `ts`, optionally sped up). Deadlines are computed from the start,
 * not from the previous send, so timer jitter does not accumulate.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export type Pace = { mode: 'fast' } | { mode: 'rate'; perSecond: number } | { mode: 'original'; speed: number };

/** Sleeps shorter than this are skipped and caught up later (timers are ~1 ms coarse). */
const MIN_SLEEP_MS = 2;

export class Pacer {
  private startMs = 0;
  private sent = 0;
  private baseTs: number | undefined;

  constructor(
    private readonly pace: Pace,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.restart();
  }

  /** Starts a new pass (each `--loop` pass replays the original timing again). */
  restart(): void {
    this.startMs = this.now();
    this.sent = 0;
    this.baseTs = undefined;
  }

  /** Milliseconds to wait before sending a record with this `ts` (0: send now). */
  delayFor(ts: number | undefined): number {
    const p = this.pace;
    let due: number;
    if (p.mode === 'fast') return 0;
    if (p.mode === 'rate') {
      due = this.startMs + (this.sent++ * 1000) / p.perSecond;
    } else {
      // Records without ts, or going back in time, go out at once.
      if (ts === undefined || !Number.isFinite(ts)) return 0;
      this.baseTs ??= ts;
      due = this.startMs + ((ts - this.baseTs) * 1000) / p.speed;
    }
    const wait = due - this.now();
    return wait >= MIN_SLEEP_MS ? wait : 0;
  }

  async wait(ts: number | undefined, signal?: AbortSignal): Promise<void> {
    const ms = this.delayFor(ts);
    if (ms > 0) await sleep(ms, undefined, signal ? { signal } : undefined).catch(() => undefined);
  }
}
