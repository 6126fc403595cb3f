import type { Logger } from '../../ops/log.js';
import type { Metrics } from '../../ops/metrics.js';
import { spoolOptionsFor, type SpoolConfig } from './options.js';
import { SpoolStore } from './store.js';

/**
 * Opens a sink's disk spool and keeps its metrics current: bytes on disk, and records lost
 * to damage (the store counts them at open and while running; the counter follows it).
 */
export async function openSpool(
  config: SpoolConfig,
  sink: string,
  deps: { logger: Logger; metrics: Metrics },
): Promise<SpoolStore> {
  const store = await SpoolStore.open(spoolOptionsFor(config, sink), { logger: deps.logger.child({ sink }) });
  const { metrics } = deps;
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
