// The gateway under test, run as a user runs it: `node dist/cli.js run --config <file>`, a
// separate process whose /metrics, /readyz and /proc entries the suite watches.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// One helper for a free port, shared with the tests.
export { freePort } from '../../test/helpers/gateway.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One sample line of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum of the samples called `name` whose labels include `labels`. */
export function metricSum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  let n = 0;
  for (const s of samples) {
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) n += s.value;
  }
  return n;
}

/**
 * Quantile of a Prometheus histogram (cumulative `_bucket` samples), interpolated linearly
 * inside the bucket as PromQL's histogram_quantile does. Resolution is the bucket layout.
 */
export function histogramQuantile(samples: Sample[], name: string, q: number, labels: Record<string, string> = {}): number | undefined {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

export interface ProcStatus {
  rssBytes: number;
  hwmBytes: number;
}

export function procStatus(pid: number): ProcStatus | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) of a process, from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Machine-wide CPU: busy and total jiffies from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** The gateway's memory as its /metrics tell it, at the moment its RSS was highest. */
export interface MemorySnapshot {
  rssMB: number;
  /** V8 heap: reserved and used. */
  heapTotalMB: number;
  heapUsedMB: number;
  /** Memory of Buffers and other objects outside the V8 heap (Node's own accounting). */
  externalMB: number;
  /** Records and payload bytes held by the sinks then. */
  bufferedRecords: number;
  bufferedMB: number;
}

/** What a /metrics poller saw during a run. */
export interface MetricsWatch {
  /** Most records held by each sink (name → records). */
  maxBuffered: Record<string, number>;
  memoryAtPeak?: MemorySnapshot;
  /** Largest event-loop delay the gateway saw (prom-client's monitor, reset at each scrape). */
  maxEventLoopLagMs: number;
  scrapes: number;
}

const toMB = (b: number): number => Math.round((b / 1e6) * 10) / 10;

export interface GatewayProcessOptions {
  configFile: string;
  /** More --config files after the generated one (later ones win). */
  extraConfigFiles?: string[];
  httpPort: number;
  logFile: string;
  /** The gateway to run: a folder with dist/cli.js (default: this checkout). */
  gatewayDir?: string;
  /** Folder for `node --cpu-prof`; none: no profiling. */
  cpuProfDir?: string;
  /** More options for node (V8 heap flags, for example). */
  nodeArgs?: string[];
  /** Environment variables added to the gateway's (MALLOC_ARENA_MAX, for example). */
  env?: Record<string, string>;
}

/** SIGTERM, then SIGKILL if the process has not exited after `graceMs`; its exit code. */
export async function terminate(proc: ChildProcess, exited: Promise<number | null>, graceMs: number): Promise<number | null> {
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(t);
  return code;
}

/** A running gateway process, with an RSS sampler. */
export class GatewayProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  private sampler: NodeJS.Timeout | undefined;
  /** Largest VmRSS seen by the sampler. */
  peakRssBytes = 0;
  private exitCode: number | null | undefined;
  private stopping = false;

  constructor(private readonly opts: GatewayProcessOptions) {
    const args = [...(opts.nodeArgs ?? []), ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []), join(opts.gatewayDir ?? '.', 'dist', 'cli.js'), 'run', '--config', opts.configFile];
    for (const f of opts.extraConfigFiles ?? []) args.push('--config', f);
    this.proc = spawn(process.execPath, args, { stdio: ['ignore', process.env.ZLG_GW_STDOUT ? 'pipe' : 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
    const log = createWriteStream(opts.logFile);
    this.proc.stderr?.pipe(log);
    this.proc.stdout?.pipe(log);
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code) => {
        this.exitCode = code;
        clearInterval(this.sampler);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  /** Set when the gateway exited without being asked to. */
  get failure(): Error | undefined {
    return this.exitCode !== undefined && !this.stopping ? new Error(`gateway exited with code ${this.exitCode} (log: ${this.opts.logFile})`) : undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.opts.httpPort}`;
  }

  /** Waits for /readyz to answer 200 (every ingress bound, every sink connected). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      if (this.exitCode !== undefined) throw new Error(`gateway exited with code ${this.exitCode} before it was ready (log: ${this.opts.logFile})`);
      try {
        const r = await fetch(`${this.url}/readyz`);
        last = await r.text();
        if (r.status === 200) return;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`gateway not ready after ${timeoutMs} ms: ${last} (log: ${this.opts.logFile})`);
  }

  /**
   * Polls /metrics every `everyMs` until the returned stop() is called; last() is the latest
   * scrape, for readers that must not cost the gateway scrapes of their own.
   */
  watchMetrics(everyMs = 500): { stop(): Promise<MetricsWatch>; last(): Sample[] | undefined } {
    const w: MetricsWatch = { maxBuffered: {}, maxEventLoopLagMs: 0, scrapes: 0 };
    let running = true;
    let latest: Sample[] | undefined;
    const loop = (async () => {
      while (running) {
        try {
          const m = await this.metrics();
          latest = m;
          w.scrapes++;
          for (const sm of m) {
            if (sm.name === 'zeek_gateway_sink_buffer_records') {
              const sink = sm.labels.sink as string;
              w.maxBuffered[sink] = Math.max(w.maxBuffered[sink] ?? 0, sm.value);
            }
          }
          w.maxEventLoopLagMs = Math.max(w.maxEventLoopLagMs, Math.round(metricSum(m, 'zeek_gateway_nodejs_eventloop_lag_max_seconds') * 1e4) / 10);
          const rss = metricSum(m, 'zeek_gateway_process_resident_memory_bytes');
          if (rss / 1e6 > (w.memoryAtPeak?.rssMB ?? 0)) {
            w.memoryAtPeak = {
              rssMB: toMB(rss),
              heapTotalMB: toMB(metricSum(m, 'zeek_gateway_nodejs_heap_size_total_bytes')),
              heapUsedMB: toMB(metricSum(m, 'zeek_gateway_nodejs_heap_size_used_bytes')),
              externalMB: toMB(metricSum(m, 'zeek_gateway_nodejs_external_memory_bytes')),
              bufferedRecords: metricSum(m, 'zeek_gateway_sink_buffer_records'),
              bufferedMB: toMB(metricSum(m, 'zeek_gateway_sink_buffer_bytes')),
            };
          }
        } catch {
          // busy or gone: next time
        }
        await sleep(everyMs);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return w;
      },
      last: () => latest,
    };
  }

  async metrics(): Promise<Sample[]> {
    const r = await fetch(`${this.url}/metrics`);
    return parseMetrics(await r.text());
  }

  /** Samples VmRSS every `everyMs` until the process exits or stopSampling() is called. */
  startSampling(everyMs = 100): void {
    const tick = (): void => {
      const s = procStatus(this.pid);
      if (s && s.rssBytes > this.peakRssBytes) this.peakRssBytes = s.rssBytes;
    };
    tick();
    this.sampler = setInterval(tick, everyMs);
  }

  stopSampling(): void {
    clearInterval(this.sampler);
  }

  /** SIGTERM (the gateway drains, then exits), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.stopping = true;
    return terminate(this.proc, this.exited, graceMs);
  }

  /**
   * The .cpuprofile written at exit, when profiling. The gateway re-executes itself once at start
   * (runtime flags, same pid), and node writes a profile of that first moment too: the run's own
   * is the last one written, and the names (CPU.<date>.<time>.<pid>…) sort by time.
   */
  profileFile(): string | undefined {
    const dir = this.opts.cpuProfDir;
    if (!dir) return undefined;
    const last = readdirSync(dir)
      .filter((n) => n.endsWith('.cpuprofile') && n.includes(`.${this.pid}.`))
      .sort()
      .at(-1);
    return last ? join(dir, last) : undefined;
  }
}
