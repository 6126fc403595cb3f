/**
 * What the replay tells its user on stderr: a progress bar while it runs (TTY only),
 * rejected lines as they happen (rate-limited), and a summary at the end.
 */
import type { Rejected, RejectReason } from './source.js';

export interface ReplaySummary {
  records: number;
  perPath: Map<string, number>;
  seconds: number;
  rejected: number;
  rejectedByReason: Map<RejectReason, number>;
  /** Files that could not be read to the end (missing, unreadable, corrupt gzip). */
  fileErrors: string[];
  /** Records sent while the gateway had no matching subscription: ZeroMQ dropped them. */
  unsubscribed: number;
  /** True when the replay was interrupted (SIGINT) before the end. */
  interrupted: boolean;
}

type Write = (text: string) => void;

/** A one-line bar redrawn in place: percent of bytes read, records, records/s. */
export class ProgressBar {
  bytes = 0;
  records = 0;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private lastAt = 0;
  private lastRecords = 0;
  private rate = 0;

  constructor(
    private readonly write: Write,
    private readonly totalBytes: number,
    private readonly width = 30,
  ) {}

  start(intervalMs = 250): void {
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref();
  }

  draw(): void {
    const now = performance.now();
    if (now - this.lastAt >= 200) {
      const current = ((this.records - this.lastRecords) * 1000) / (now - this.lastAt);
      this.rate = this.rate === 0 ? current : 0.7 * this.rate + 0.3 * current; // smooth the jitter
      this.lastAt = now;
      this.lastRecords = this.records;
    }
    const frac = this.totalBytes > 0 ? Math.min(1, this.bytes / this.totalBytes) : 0;
    const full = Math.round(frac * this.width);
    const bar = '#'.repeat(full) + '-'.repeat(this.width - full);
    const pct = this.totalBytes > 0 ? `${(frac * 100).toFixed(1).padStart(5)}%` : '    ?%';
    this.write(`\r\x1b[K[${bar}] ${pct}  ${this.records.toLocaleString('en-US')} records  ${Math.round(this.rate).toLocaleString('en-US')} rec/s`);
    this.drawn = true;
  }

  /** Clears the bar so another line can be written. It comes back on the next tick. */
  clear(): void {
    if (this.drawn) this.write('\r\x1b[K');
    this.drawn = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }
}

/**
 * Reports rejected lines: the first few all, then at most one per interval, so a file
 * of garbage cannot flood the terminal. Counts every one by reason for the summary.
 */
export class RejectLog {
  total = 0;
  shown = 0;
  readonly byReason = new Map<RejectReason, number>();
  private lastShownAt = -Infinity;

  constructor(
    private readonly write: Write,
    private readonly firstN = 10,
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  add(r: Rejected): void {
    this.total++;
    this.byReason.set(r.reason, (this.byReason.get(r.reason) ?? 0) + 1);
    const t = this.now();
    if (this.shown < this.firstN || t - this.lastShownAt >= this.intervalMs) {
      this.shown++;
      this.lastShownAt = t;
      this.write(`${r.file}:${r.line}: rejected (${r.reason}): ${r.detail}\n`);
    }
  }
}

/** The end-of-run report, one fact per line. */
export function formatSummary(s: ReplaySummary, target: string): string {
  const out: string[] = [];
  const rate = s.seconds > 0 ? Math.round(s.records / s.seconds) : s.records;
  const verb = s.interrupted ? 'interrupted after' : 'replayed';
  out.push(`${verb} ${s.records} records in ${s.seconds.toFixed(2)} s (${rate} records/s) to ${target}`);
  const paths = [...s.perPath.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const w = Math.max(0, ...paths.map(([p]) => p.length));
  for (const [p, n] of paths) out.push(`  ${p.padEnd(w)}  ${n}`);
  if (s.rejected > 0) {
    out.push(`rejected ${s.rejected} lines:`);
    for (const [reason, n] of [...s.rejectedByReason.entries()].sort()) out.push(`  ${reason}  ${n}`);
  }
  if (s.unsubscribed > 0) {
    out.push(`${s.unsubscribed} records matched no subscription of the gateway (ZeroMQ dropped them)`);
  }
  for (const e of s.fileErrors) out.push(`file error: ${e}`);
  return `${out.join('\n')}\n`;
}
