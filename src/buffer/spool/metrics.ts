import type { Logger } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import { spoolOptionsFor, type SpoolConfig } from './options.js';
import { SpoolStore } from './store.js';

/**
 * Opens a sink's spool with its metrics: disk bytes, records lost to damage (at open and
 * while running), and failed writes by error code (ENOSPC: the disk is full).
 */
export async function openSinkSpool(sink: string, config: SpoolConfig, metrics: Metrics, logger: Logger): Promise<SpoolStore> {
  const store = await SpoolStore.open(spoolOptionsFor(config, sink), {
    logger: logger.child({ sink }),
    onWriteError: (code) => metrics.spoolWriteErrors.labels(sink, code).inc(),
  });
  // The store counts records lost to damage; the counter follows it.
  const lost = metrics.spoolLost.labels(sink);
  let reported = 0;
  const refresh = (): void => {
    const { diskBytes, lostRecords } = store.stats;
    metrics.spoolDiskBytes.labels(sink).set(diskBytes);
    lost.inc(lostRecords - reported);
    reported = lostRecords;
  };
  refresh();
  metrics.onScrape(refresh);
  return store;
}
