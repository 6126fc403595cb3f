import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LogOptions {
  level: LevelWithSilent;
  /** 'json' for machines (default), 'pretty' is not bundled: pipe through pino-pretty. */
  destination?: number | string;
}

/** Structured JSON logs on stderr (stdout stays free for the console sink and dry runs). */
export function createLogger(opts: LogOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { svc: 'zeek-log-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: opts.destination ?? 2, sync: false }),
  );
}

/** A logger that writes nothing, for tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Rate-limits log lines per key: at most one line per interval, with the number of
 * suppressed occurrences reported on the next line. Bad input can arrive at wire
 * speed; the log must not become the bottleneck or drown the useful lines.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
    /** Keys remembered at once: some carry names from the network (an exchange per path). */
    private readonly maxKeys = 1024,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.emit('warn', key, fields, msg);
  }

  error(key: string, fields: Record<string, unknown>, msg: string): void {
    this.emit('error', key, fields, msg);
  }

  info(key: string, fields: Record<string, unknown>, msg: string): void {
    this.emit('info', key, fields, msg);
  }

  private emit(level: 'warn' | 'error' | 'info', key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (entry === undefined && this.last.size >= this.maxKeys) this.forget();
    this.last.set(key, { at: t, suppressed: 0 });
    this.logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }

  /** Makes room for a new key: the oldest one goes (its next line only loses its count of suppressed ones). */
  private forget(): void {
    this.last.delete(this.last.keys().next().value as string);
  }
}
