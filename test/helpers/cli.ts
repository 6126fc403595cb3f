// The gateway as a process, run as a user runs it (`zeek-log-gateway …`), for the tests that
// need exit codes, signals and the log stream.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metricsText } from './metrics.js';
import { eventually } from './wait.js';

/** The repository root: the CLI runs from there whatever the caller's working directory. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  /** stderr's JSON log lines as they arrive (other lines as `{ msg }`). */
  readonly logs: Array<Record<string, unknown>>;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** stdout and stderr, interleaved, so far. */
  output(): string;
  /** The exit code (null when killed by a signal), once the output is read to the end. */
  readonly exit: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `src/cli.ts ARGS` with the test's environment plus `env`. */
export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  let all = '';
  let pending = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    all += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    all += d.toString();
    pending += d.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  // 'close', not 'exit': by then stdout and stderr are read to the end.
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, logs, stdout: () => out, stderr: () => err, output: () => all, exit, kill: (signal = 'SIGTERM') => void child.kill(signal) };
}

/** Writes `config` to a fresh temporary file and returns its path (for --config). */
export function writeConfig(config: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'zlg-config-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** The text of the /metrics page of a gateway process serving HTTP on `httpPort`. */
export const scrapeText = (httpPort: number): Promise<string> => metricsText(`http://127.0.0.1:${httpPort}/metrics`);

/** Waits until /readyz answers 200 (or the process exits). */
export async function whenReady(p: Pick<CliProcess, 'exit' | 'logs'>, httpPort: number, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void p.exit.then(() => (exited = true));
  await eventually(
    async () => {
      if (exited) throw new Error(`gateway exited before it was ready: ${JSON.stringify(p.logs.slice(-5))}`);
      const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return r?.status === 200;
    },
    timeoutMs,
    'gateway process ready',
  );
}
