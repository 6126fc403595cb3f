import type { Logger } from '../ops/log.js';
import type { Metrics } from '../ops/metrics.js';
import type { ReloadSummary } from './diff.js';
import { ConfigError, loadConfig, type GatewayConfig } from './load.js';

/** What a configuration is applied to: the running gateway. */
export interface Reloadable {
  reload(next: GatewayConfig): Promise<ReloadSummary>;
}

export type ReloadOutcome = ({ ok: true } & ReloadSummary) | { ok: false; problems: string[] };

/**
 * Reads the config files and the environment again and applies them to the running gateway
 * (SIGHUP, POST /-/reload). An invalid configuration changes nothing: every problem is logged
 * naming its key and the reload counts as a failure.
 */
export function configReloader(
  gateway: Reloadable,
  files: readonly string[],
  deps: { metrics: Metrics; logger: Logger; env?: NodeJS.ProcessEnv },
): (trigger: string) => Promise<ReloadOutcome> {
  const success = deps.metrics.configReloads.labels('success');
  const failure = deps.metrics.configReloads.labels('failure');
  return async (trigger) => {
    deps.logger.info({ trigger, files }, 'reloading the configuration');
    try {
      const { config } = loadConfig(files, deps.env ?? process.env);
      const summary = await gateway.reload(config);
      success.inc();
      return { ok: true, ...summary };
    } catch (err) {
      failure.inc();
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      deps.logger.error({ trigger, problems }, 'configuration reload failed; the running configuration stays in force');
      return { ok: false, problems };
    }
  };
}
