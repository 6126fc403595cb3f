// Child processes of the benchmark (load generator, bare sinks, baseline publishers, consumers)
// and the messages they exchange with the suite over Node's IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface Msg {
  type: string;
  [k: string]: unknown;
}

/** A running bench child: send it messages, await the ones it sends back. */
export class Child {
  readonly exited: Promise<number | null>;
  private readonly queue: Msg[] = [];
  private readonly waiters: Array<{ type: string; resolve: (m: Msg) => void; reject: (e: Error) => void }> = [];
  private exitCode: number | null | undefined;
  private stderrTail = '';
  /** Set when the child reported an error or exited before it was asked to. */
  failure: Error | undefined;
  private stopping = false;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: Msg) => this.deliver(m));
    proc.stderr?.on('data', (d: Buffer) => {
      process.stderr.write(`[${name}] ${d.toString()}`);
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        const err = new Error(`${name} exited (code ${code}, signal ${signal})${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`);
        if (!this.stopping) this.failure ??= err;
        for (const w of this.waiters.splice(0)) w.reject(err);
        resolve(this.exitCode);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  send(m: Msg): void {
    this.proc.send(m);
  }

  /** The next message of this type (earlier unclaimed ones of other types are kept). */
  next<T extends Msg = Msg>(type: string, timeoutMs = 0): Promise<T> {
    const i = this.queue.findIndex((m) => m.type === type || m.type === 'error');
    if (i >= 0) {
      const m = this.queue.splice(i, 1)[0] as Msg;
      return m.type === 'error' ? Promise.reject(new Error(`${this.name}: ${String(m.message)}`)) : Promise.resolve(m as T);
    }
    if (this.exitCode !== undefined) return Promise.reject(new Error(`${this.name} has exited (code ${this.exitCode})`));
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const w = {
        type,
        resolve: (m: Msg) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(w);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(new Error(`${this.name}: no '${type}' message within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /** Asks the child to exit; kills it if it has not after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.stopping = true;
    try {
      this.send({ type: 'exit' });
    } catch {
      // channel already closed
    }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  private deliver(m: Msg): void {
    if (m.type === 'error') this.failure ??= new Error(`${this.name}: ${String(m.message)}`);
    const i = this.waiters.findIndex((w) => w.type === m.type || m.type === 'error');
    if (i < 0) {
      this.queue.push(m);
      return;
    }
    const w = this.waiters.splice(i, 1)[0] as (typeof this.waiters)[number];
    if (m.type === 'error') w.reject(new Error(`${this.name}: ${String(m.message)}`));
    else w.resolve(m);
  }
}

/** Starts `bench/<script>.ts` (TypeScript through tsx) with an IPC channel. */
export function startChild(script: string, name = script, execArgv: string[] = []): Child {
  const proc = fork(`${BENCH_DIR}${script}.ts`, [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  return new Child(name, proc);
}

// ---------------------------------------------------------------------------------------------
// Child side

/** In a child: runs `handler` for each message from the suite; errors go back as 'error'. */
export function serve(handler: (m: Msg) => Promise<void> | void): void {
  if (!process.send) throw new Error('run this script through the bench suite (it needs an IPC channel)');
  process.on('message', (m: Msg) => {
    if (m.type === 'exit') {
      process.exit(0);
    }
    Promise.resolve()
      .then(() => handler(m))
      .catch((err: unknown) => reply({ type: 'error', message: (err as Error).stack ?? String(err) }));
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * In a child that runs one job: 'prepare' (with the job; answered 'ready' once everything is
 * connected and loaded) and then 'go', whose handler reports with its own 'done'.
 */
export function serveJob<J>(prepare: (job: J) => Promise<void>, go: () => Promise<void>): void {
  serve(async (m) => {
    if (m.type === 'prepare') {
      await prepare(m.job as J);
      reply({ type: 'ready' });
    } else if (m.type === 'go') {
      await go();
    }
  });
}

export function reply(m: Msg): void {
  process.send?.(m);
}

/** CLOCK_MONOTONIC in milliseconds: the same clock in every process of the machine. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** A short random suffix for names (consumer groups, files). */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
