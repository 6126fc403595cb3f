import type { Logger } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import { spoolOptionsFor, type SpoolConfig } from './options.js';
import { SpoolStore } from './store.js';

/**
 * Opens a sink's disk spool and keeps its metrics current: bytes on disk, and records lost
 * to damage (the store counts them at open and while running; the counter follows it), and
 * failed writes by error code (ENOSPC: the disk is full). Once the store is closed (its sink
 * stopped, or a reload replaced or removed it), it stops reporting: the series of its sink's
 * name belong to a successor, or go away with the sink.
 */
export async function openSpool(
  config: SpoolConfig,
  sink: string,
  deps: { logger: Logger; metrics: Metrics },
): Promise<SpoolStore> {
  const { metrics } = deps;
  const store = await SpoolStore.open(spoolOptionsFor(config, sink), {
    logger: deps.logger.child({ sink }),
    onWriteError: (code) => metrics.spoolWriteErrors.labels(sink, code).inc(),
  });
  const lost = metrics.spoolLost.labels(sink);
  let reported = 0;
  const refresh = (): void => {
    const { diskBytes, lostRecords } = store.stats;
    metrics.spoolDiskBytes.labels(sink).set(diskBytes);
    lost.inc(lostRecords - reported);
    reported = lostRecords;
  };
  metrics.spoolMaxBytes.labels(sink).set(config.maxBytes);
  refresh();
  const stop = metrics.onScrape(() => (store.isClosed ? stop() : refresh()));
  return store;
}
