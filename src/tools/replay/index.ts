/**
 * `zeek-log-gateway replay`: pushes existing Zeek logs (TSV or JSON, plain or gzip) to a
 * gateway the way the NCSA ZeroMQ writer plugin would have sent them live: one
 * `[path, JSON]` message per record, JSON exactly as Zeek's JSON writer writes it.
 */
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { Pacer, type Pace } from './pace.js';
import { LineSink, ReplayError, ZmqPublisher, type RecordSink } from './publisher.js';
import { ProgressBar, RejectLog, type ReplaySummary } from './report.js';
import { readLogFile, type SourceOptions, type SourceRecord } from './source.js';

export { ReplayError } from './publisher.js';
export { formatSummary, type ReplaySummary } from './report.js';
export type { Pace } from './pace.js';

export interface ReplayOptions {
  readonly files: readonly string[];
  readonly endpoint: string;
  readonly pace: Pace;
  /** Passes over the files; 0 repeats until interrupted. */
  readonly loops: number;
  /** Log path for every record, overriding `#path` and file names. */
  readonly path?: string | undefined;
  /** Write `path<TAB>json` lines to `stdout` instead of sending. */
  readonly dryRun: boolean;
  readonly sendHighWaterMark: number;
  readonly subscribeTimeoutMs: number;
  readonly connectPauseMs: number;
  readonly lingerMs: number;
  /** Draw a progress bar on `stderr` (the command enables it only on a TTY). */
  readonly progress: boolean;
  readonly stdout: Writable;
  readonly stderr: Pick<Writable, 'write'>;
  readonly signal?: AbortSignal | undefined;
  readonly maxLineBytes?: number;
}

type Source = AsyncGenerator<SourceRecord>;

/** A file's records; a read error ends that file only and is noted for the summary. */
async function* guarded(file: string, opts: SourceOptions, fileErrors: string[]): Source {
  try {
    yield* readLogFile(file, opts);
  } catch (err) {
    fileErrors.push(`${file}: ${(err as Error).message}`);
  }
}

/** The files one after the other. */
async function* sequential(sources: Source[]): Source {
  for (const s of sources) yield* s;
}

/** The files merged by `ts` (records without ts go first): for `--pace original`. */
async function* mergedByTs(sources: Source[]): Source {
  const heads = await Promise.all(sources.map((s) => s.next()));
  try {
    for (;;) {
      let pick = -1;
      let best = Infinity;
      heads.forEach((h, i) => {
        if (h.done) return;
        const ts = h.value.ts ?? -Infinity;
        if (pick < 0 || ts < best) {
          pick = i;
          best = ts;
        }
      });
      if (pick < 0) return;
      yield (heads[pick] as IteratorYieldResult<SourceRecord>).value;
      heads[pick] = await sources[pick]!.next();
    }
  } finally {
    await Promise.all(sources.map((s) => s.return(undefined)));
  }
}

async function totalSize(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const f of files) {
    let st;
    try {
      st = await stat(f);
    } catch (err) {
      throw new ReplayError(`cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!st.isFile()) throw new ReplayError(`not a file: ${f}`);
    total += st.size;
  }
  return total;
}

/** Runs the replay and returns what happened; throws ReplayError for fatal problems. */
export async function replay(opts: ReplayOptions): Promise<ReplaySummary> {
  if (opts.files.length === 0) throw new ReplayError('no files given');
  const passBytes = await totalSize(opts.files);
  const sink: RecordSink = opts.dryRun
    ? new LineSink(opts.stdout)
    : await ZmqPublisher.open({
        endpoint: opts.endpoint,
        sendHighWaterMark: opts.sendHighWaterMark,
        subscribeTimeoutMs: opts.subscribeTimeoutMs,
        connectPauseMs: opts.connectPauseMs,
        lingerMs: opts.lingerMs,
      });

  const bar = new ProgressBar((t) => opts.stderr.write(t), opts.loops > 0 ? passBytes * opts.loops : passBytes);
  const rejects = new RejectLog((t) => {
    bar.clear();
    opts.stderr.write(t);
  });
  const summary: ReplaySummary = {
    records: 0,
    perPath: new Map(),
    seconds: 0,
    rejected: 0,
    rejectedByReason: rejects.byReason,
    fileErrors: [],
    unsubscribed: 0,
    interrupted: false,
  };
  const sourceOpts: SourceOptions = {
    path: opts.path,
    maxLineBytes: opts.maxLineBytes,
    onReject: (r) => rejects.add(r),
    onBytes: (n) => (bar.bytes += n),
  };
  const pacer = new Pacer(opts.pace);
  const signal = opts.signal;
  const started = performance.now();
  if (opts.progress) bar.start();
  try {
    for (let pass = 0; opts.loops === 0 || pass < opts.loops; pass++) {
      if (signal?.aborted) break;
      if (opts.loops === 0) bar.bytes = 0; // endless: the bar shows the current pass
      pacer.restart();
      const sources = opts.files.map((f) => guarded(f, sourceOpts, summary.fileErrors));
      const records = opts.pace.mode === 'original' && sources.length > 1 ? mergedByTs(sources) : sequential(sources);
      const before = summary.records;
      for await (const rec of records) {
        await pacer.wait(rec.ts, signal);
        if (signal?.aborted) break;
        await sink.send(rec.path, rec.json);
        summary.records++;
        bar.records++;
        summary.perPath.set(rec.path, (summary.perPath.get(rec.path) ?? 0) + 1);
      }
      if (summary.records === before) break; // nothing to replay: do not spin through more passes
    }
  } finally {
    bar.stop();
    await sink.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  summary.rejected = rejects.total;
  summary.unsubscribed = sink.unsubscribed;
  summary.interrupted = signal?.aborted ?? false;
  return summary;
}
