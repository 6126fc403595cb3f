import { ConfigError, loadConfig } from '../config/load.js';
import type { Gateway, ReloadSummary } from '../gateway.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export type ReloadOutcome = ({ ok: true } & ReloadSummary) | { ok: false; problems: string[] };

/**
 * Reads the config files and the environment again and applies them to the running gateway
 * (SIGHUP, POST /-/reload). An invalid configuration changes nothing: every problem is logged
 * naming its key and the reload counts as a failure.
 */
export function configReloader(
  gateway: Gateway,
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
