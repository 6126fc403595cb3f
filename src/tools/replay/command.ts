import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatSummary, replay, ReplayError, type Pace, type ReplaySummary } from './index.js';

/** Exit codes: usage errors exit 1 through commander. */
export const EXIT_FATAL = 1;
export const EXIT_INCOMPLETE = 3;
export const EXIT_INTERRUPTED = 130;

interface ReplayCliOptions {
  endpoint: string;
  path?: string;
  pace: 'fast' | 'original';
  speed: number;
  rate?: number;
  loop: number;
  hwm: number;
  wait: number;
  connectPause: number;
  linger: number;
  dryRun: boolean;
  progress: boolean;
}

function number(kind: 'positive' | 'non-negative-int') {
  return (value: string): number => {
    const n = Number(value);
    const ok = kind === 'positive' ? Number.isFinite(n) && n > 0 : Number.isInteger(n) && n >= 0;
    if (value.trim() === '' || !ok) throw new InvalidArgumentError(`expected a ${kind.replace(/-/g, ' ')} number`);
    return n;
  };
}

/** The pacing the options ask for; `--rate` and `--pace original` exclude each other. */
export function paceFrom(o: Pick<ReplayCliOptions, 'pace' | 'speed' | 'rate'>): Pace {
  if (o.rate !== undefined && o.pace === 'original') throw new ReplayError('--rate and --pace original cannot be combined');
  if (o.rate !== undefined) return { mode: 'rate', perSecond: o.rate };
  if (o.pace === 'original') return { mode: 'original', speed: o.speed };
  return { mode: 'fast' };
}

/** Exit code for a finished replay: 3 when anything was lost or skipped on the way. */
export function exitCodeFor(s: ReplaySummary): number {
  if (s.interrupted) return EXIT_INTERRUPTED;
  return s.rejected > 0 || s.fileErrors.length > 0 || s.unsubscribed > 0 ? EXIT_INCOMPLETE : 0;
}

async function run(files: string[], o: ReplayCliOptions): Promise<void> {
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) process.exit(EXIT_INTERRUPTED); // second Ctrl-C: do not wait
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `--dry-run | head`: a closed pipe ends the replay quietly.
  process.stdout.on('error', () => ac.abort());
  try {
    const summary = await replay({
      files,
      endpoint: o.endpoint,
      pace: paceFrom(o),
      loops: o.loop,
      path: o.path,
      dryRun: o.dryRun,
      sendHighWaterMark: o.hwm,
      subscribeTimeoutMs: o.wait,
      connectPauseMs: o.connectPause,
      lingerMs: o.linger,
      progress: o.progress && process.stderr.isTTY === true,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: ac.signal,
    });
    process.stderr.write(formatSummary(summary, o.dryRun ? 'stdout (dry run)' : o.endpoint));
    process.exitCode = exitCodeFor(summary);
  } catch (err) {
    if (!(err instanceof ReplayError)) throw err;
    process.stderr.write(`zeek-log-gateway replay: ${err.message}\n`);
    process.exitCode = EXIT_FATAL;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      'replay Zeek log files (TSV or JSON lines, plain or gzip) to a gateway as the NCSA ZeroMQ writer plugin ' +
        'would: one [path, JSON] message per record on a socket that connects to the endpoint',
    )
    .argument('<files...>', 'Zeek log files; the log path comes from #path (TSV) or the file name (conn.log, conn.<time>.log.gz)')
    .option('-e, --endpoint <endpoint>', "the gateway's SUB endpoint to connect to", 'tcp://127.0.0.1:12345')
    .option('--path <path>', 'log path (frame 1) for every record, overriding #path and file names')
    .addOption(new Option('--pace <mode>', 'fast: as fast as possible; original: by the records\' ts').choices(['fast', 'original']).default('fast'))
    .option('--speed <factor>', 'with --pace original: speed-up factor (2 = twice as fast)', number('positive'), 1)
    .option('--rate <records>', 'send at this many records per second', number('positive'))
    .option('--loop <n>', 'passes over the files (0: until interrupted)', number('non-negative-int'), 1)
    .option('--hwm <messages>', 'send high-water mark in messages (0: none); a full queue waits, it does not drop', number('non-negative-int'), 100_000)
    .option('--wait <ms>', "wait up to this long for the gateway's subscription before sending (0: do not wait)", number('non-negative-int'), 10_000)
    .option('--connect-pause <ms>', "sleep after connecting, like the plugin's zmq_connect_pause", number('non-negative-int'), 0)
    .option('--linger <ms>', 'after the last record, how long queued records may still go out', number('non-negative-int'), 10_000)
    .option('-n, --dry-run', 'print path<TAB>json lines on stdout instead of sending', false)
    .option('--no-progress', 'no progress bar (it is only drawn when stderr is a terminal)')
    .addHelpText(
      'after',
      [
        '',
        'Several files are merged by ts with --pace original, else sent one after the other.',
        'TSV records become the JSON Zeek would have written; TSV prints time and interval with',
        '6 decimals, so those doubles can differ from a JSON log of the same run in the last digits.',
        'Bad lines are counted, shown (rate-limited) and skipped. A summary goes to stderr.',
        '',
        'Exit status: 0 all sent; 1 fatal error (e.g. no gateway subscribed); 3 finished, but lines',
        'were rejected, a file failed, or records matched no subscription; 130 interrupted.',
        '',
        'Examples:',
        '  zeek-log-gateway replay conn.log dns.log',
        '  zeek-log-gateway replay --pace original --speed 10 /var/log/zeek/2024-01-01/*.log.gz',
        '  zeek-log-gateway replay --dry-run http.log | cut -f2 | jq .',
      ].join('\n'),
    )
    .action(run);
}
