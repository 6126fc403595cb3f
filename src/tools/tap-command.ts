import { InvalidArgumentError, type Command } from 'commander';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

interface TapCliOptions {
  url: string;
  path?: string;
  route?: string;
  sink?: string;
  limit: number;
  rate?: number;
  json: boolean;
}

const nonNegativeInt = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

/** The tap endpoint's URL with the filters as query parameters. */
export function tapUrl(o: Pick<TapCliOptions, 'url' | 'path' | 'route' | 'sink' | 'limit' | 'rate'>): URL {
  const url = new URL('/-/tap', o.url);
  for (const k of ['path', 'route', 'sink', 'limit', 'rate'] as const) {
    const v = o[k];
    if (v !== undefined && v !== 0) url.searchParams.set(k, String(v));
  }
  return url;
}

interface TapLine {
  path: string;
  sender: string;
  destinations: Array<{ sink: string; target: string; routingKey?: string; route: string }>;
  unrouted: string | null;
  skipped: number;
  record: unknown;
}

/** One line for a person: path, sender, where it went, then the record. */
export function formatTapLine(line: string): string {
  const l = JSON.parse(line) as TapLine;
  const where = l.unrouted
    ? `(not routed: ${l.unrouted})`
    : l.destinations.map((d) => `${d.sink}:${d.target}${d.routingKey !== undefined ? `/${d.routingKey}` : ''} [${d.route}]`).join(', ');
  const skipped = l.skipped > 0 ? `  (+${l.skipped} skipped)` : '';
  return `${l.path}  ${l.sender || '-'}  → ${where}${skipped}\n  ${JSON.stringify(l.record)}\n`;
}

async function run(o: TapCliOptions): Promise<void> {
  const url = tapUrl(o);
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  let res: Response;
  try {
    res = await fetch(url, { signal: ac.signal });
  } catch (err) {
    process.stderr.write(`zeek-log-gateway tap: cannot reach ${url.origin}: ${(err as Error).cause ?? (err as Error).message}\n`);
    process.exit(1);
  }
  if (!res.ok || !res.body) {
    process.stderr.write(`zeek-log-gateway tap: ${res.status} ${(await res.text()).trim()}\n`);
    process.exit(1);
  }
  const lines = createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream) });
  try {
    for await (const line of lines) {
      if (line) process.stdout.write(o.json ? `${line}\n` : formatTapLine(line));
    }
  } catch (err) {
    if (!ac.signal.aborted) {
      process.stderr.write(`zeek-log-gateway tap: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
}

export function registerTapCommand(program: Command): void {
  program
    .command('tap')
    .description(
      'show records passing through a running gateway as they are routed (path, sender, destinations), sampled and rate-capped; needs http.tap.enabled',
    )
    .option('--url <url>', "the gateway's HTTP listener", 'http://127.0.0.1:9275')
    .option('--path <glob>', 'only these log paths (after routing, e.g. dns*)')
    .option('--route <name>', 'only records a route of this name sent somewhere')
    .option('--sink <name>', 'only records going to this sink')
    .option('--limit <n>', 'stop after n records (0: until Ctrl-C)', nonNegativeInt, 0)
    .option('--rate <n>', 'most records per second (the gateway caps it at http.tap.maxRate)', nonNegativeInt)
    .option('--json', 'print the NDJSON lines as the gateway sends them', false)
    .action(run);
}
