// A peer under test (Redpanda Connect, rsyslogd) as its own process: started with its config,
// measured from /proc as the gateway is (CPU of all threads, VmHWM), stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { procCpuSeconds, procStatus, sleep, terminate } from '../lib/gateway.js';

export interface PeerProcessOptions {
  /** Name in messages (rpconnect, rsyslogd). */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  logFile: string;
}

export class PeerProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private stopping = false;

  constructor(private readonly opts: PeerProcessOptions) {
    this.proc = spawn(opts.command, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    const log = createWriteStream(opts.logFile);
    this.proc.stdout?.pipe(log);
    this.proc.stderr?.pipe(log);
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (err) => {
        log.write(`spawn failed: ${err.message}\n`);
        this.exitCode = -1;
        resolve(-1);
      });
      this.proc.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  /** Set when the peer exited without being asked to (watched like the gateway during a run). */
  get failure(): Error | undefined {
    return this.exitCode !== undefined && !this.stopping ? new Error(`${this.opts.name} exited with code ${this.exitCode} (log: ${this.opts.logFile})`) : undefined;
  }

  /** CPU seconds of the process so far (user + system, all threads). */
  cpuSeconds(): number {
    const s = procCpuSeconds(this.pid);
    if (s === undefined) throw new Error(`${this.opts.name}: /proc/${this.pid}/stat unreadable (exited?)`);
    return s;
  }

  /** VmHWM: the peak resident set of the process over its whole life, in bytes. */
  peakRssBytes(): number {
    return procStatus(this.pid)?.hwmBytes ?? 0;
  }

  /** Waits until `check` says the peer is ready; fails when the peer exits first. */
  async until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.failure) throw this.failure;
      if (await check().catch(() => false)) return;
      await sleep(100);
    }
    throw new Error(`${this.opts.name}: not ${what} after ${timeoutMs} ms (log: ${this.opts.logFile})`);
  }

  /** SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    this.stopping = true;
    return terminate(this.proc, this.exited, graceMs);
  }
}
