// The gateway as a process, run as a user runs it: `node --import tsx src/cli.ts ...`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually } from './gateway.js';

/** The repository root: the CLI runs from there whatever the caller's working directory. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** JSON log lines from stderr, parsed (non-JSON lines as `{ msg }`). */
  logs: Array<Record<string, unknown>>;
  /** Everything written to stdout. */
  stdout(): string;
  exited: Promise<number | null>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ msg: line });
    }
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, logs, stdout: () => out, exited };
}

/** Writes a config file into a new temporary directory and returns its path. */
export function writeConfigFile(config: object, prefix = 'zlg-cli-'): string {
  const file = join(mkdtempSync(join(tmpdir(), prefix)), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

export async function scrapeText(httpPort: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

/** Waits until /readyz answers 200 (or the process exits). */
export async function whenReady(p: CliProcess, httpPort: number, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void p.exited.then(() => (exited = true));
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
