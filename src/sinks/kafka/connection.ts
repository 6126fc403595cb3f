// Connection state of a Kafka transport (either client) and the probe that, while the
// cluster is unreachable, tries again every reconnectIntervalMs until it answers.
import type { Logger, RateLimitedLog } from '../../ops/log.js';

export class KafkaConnection {
  private up = false;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly log: Logger,
    private readonly limited: RateLimitedLog,
    private readonly intervalMs: number,
    /** One reconnection attempt: resolves once the cluster answered. */
    private readonly attempt: () => Promise<void>,
    private readonly onChange: (up: boolean) => void,
  ) {}

  get connected(): boolean {
    return this.up;
  }

  set(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    if (up) this.log.info('Kafka connection is up');
    else if (!this.closing) this.log.warn('Kafka connection is down; reconnecting in the background');
    this.onChange(up);
  }

  /** The first connection: with failFast a failure is fatal, otherwise probing takes over. */
  async start(connect: () => Promise<void>, failFast: boolean, brokers: string[], client: string): Promise<void> {
    try {
      await connect();
      this.log.info({ brokers, client }, 'Kafka producer connected');
    } catch (err) {
      if (failFast) throw new Error(`Kafka: cannot connect: ${(err as Error).message}`);
      this.log.error({ brokers, err: (err as Error).message }, 'Kafka cannot connect; retrying in the background');
      this.lost();
    }
  }

  /** Marks the connection down and starts probing. */
  lost(): void {
    this.set(false);
    this.probe();
  }

  /** Probes every intervalMs until an attempt succeeds (no-op while connected or already probing). */
  probe(): void {
    if (this.closing || this.timer !== undefined || this.probing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closing || this.up) return;
      this.probing = true;
      this.attempt()
        .then(
          () => this.set(true),
          (err: Error) => this.limited.warn('reconnect', { err: err.message }, 'Kafka still unreachable'),
        )
        .finally(() => {
          this.probing = false;
          if (!this.up) this.probe();
        });
    }, this.intervalMs);
    this.timer.unref?.();
  }

  close(): void {
    this.closing = true;
    clearTimeout(this.timer);
    this.set(false);
  }
}
