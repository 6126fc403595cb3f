#!/usr/bin/env node
// First: may re-execute the process with the gateway's V8 settings before anything else loads.
import './ops/apply-runtime-flags.js';
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from './config/load.js';
import { Gateway } from './gateway.js';
import { generateKeypair } from './ingress/curve/index.js';
import { startHttp } from './ops/http.js';
import { createLogger } from './ops/log.js';
import { Metrics } from './ops/metrics.js';
import { nodeVersionProblem } from './ops/node-version.js';
import { configReloader } from './config/reload.js';
import { registerReplayCommand } from './tools/replay/command.js';
import { registerTapCommand } from './tools/tap-command.js';

const EXIT_CONFIG = 2;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; engines?: { node?: string } };
const tooOld = nodeVersionProblem(pkg.engines?.node);
if (tooOld) {
  process.stderr.write(`zeek-log-gateway: ${tooOld}\n`);
  process.exit(1);
}
const collect = (value: string, previous: string[]): string[] => [...previous, value];
const configOption = () =>
  new Option('-c, --config <file>', 'configuration file, after config/default.json (repeatable; later wins)')
    .argParser(collect)
    .default([] as string[]);

/** Loads the configuration or exits with code 2, naming every wrong key. */
function configOrExit(files: string[]) {
  try {
    return loadConfig(files);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`zeek-log-gateway: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

async function run(opts: { config: string[]; dryRun?: boolean }): Promise<void> {
  const { config } = configOrExit(opts.config);
  const logger = createLogger({ level: config.log.level });
  const metrics = new Metrics({ processMetrics: true });
  const gateway = await Gateway.create(config, metrics, logger, opts.dryRun);
  if (opts.dryRun) logger.warn('dry run: nothing is published; each record prints where it would go (stdout)');
  logger.info({ version: pkg.version, sinks: config.sinks.filter((s) => s.enabled).map((s) => s.name) }, 'starting');
  // SIGHUP (systemctl reload, a closed terminal) reloads instead of ending the process; a
  // reload asked for during startup waits until the gateway runs.
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const reloadNow = configReloader(gateway, opts.config, { metrics, logger });
  const reload = (trigger: string) => running.then(() => reloadNow(trigger));
  process.on('SIGHUP', () => void reload('SIGHUP'));

  const { http } = config;
  const server = http.enabled
    ? await startHttp({
        ...http,
        registry: metrics.registry,
        readiness: () => ({ ...gateway.readiness() }),
        reload: http.reload.enabled ? { allowRemote: http.reload.allowRemote, run: () => reload('POST /-/reload') } : undefined,
        tap: http.tap.enabled ? { ...http.tap, tap: gateway.tap } : undefined,
        schemas: gateway.schemas,
      })
    : undefined;
  if (server) {
    const extra = [http.reload.enabled ? 'POST /-/reload' : '', http.tap.enabled ? '/-/tap' : ''].filter(Boolean);
    logger.info({ host: http.host, port: http.port }, `serving /metrics /healthz /readyz /schemas ${extra.join(' ')}`.trim());
    if (http.tap.enabled && (http.tap.allowRemote || !isLoopbackHost(http.host))) {
      logger.warn({ host: http.host, allowRemote: http.tap.allowRemote }, 'the tap shows log contents to whoever reaches it');
    }
  }

  let signals = 0;
  const shutdown = (signal: string): void => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the drain');
      process.exit(1);
    }
    logger.info({ signal, lingerMs: config.shutdown.lingerMs }, 'shutting down');
    void gateway.stop().then(() => {
      server?.close();
      logger.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  try {
    await gateway.start();
  } catch (err) {
    // E.g. a fail-fast sink whose broker is down, or an endpoint that cannot be bound.
    logger.fatal({ err: (err as Error).message }, 'startup failed');
    logger.flush();
    await gateway.stop(0).catch(() => undefined);
    process.exit(1);
  }
  started();
  logger.info('gateway running');
}

const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');

const program = new Command()
  .name('zeek-log-gateway')
  .description('Routes Zeek logs from ZeroMQ to RabbitMQ and Kafka.')
  .version(pkg.version);

program
  .command('run', { isDefault: true })
  .description('run the gateway')
  .addOption(configOption())
  .option('--dry-run', 'connect to no broker: print one JSON line per record and destination saying where it would go')
  .action(run);

program
  .command('check-config')
  .description('validate the configuration and print the effective one, secrets redacted (exit 2 when invalid)')
  .addOption(configOption())
  .action((opts: { config: string[] }) => {
    const loaded = configOrExit(opts.config);
    process.stdout.write(`${JSON.stringify(loaded.redacted(), null, 2)}\n`);
  });

program
  .command('keygen')
  .description('print a new CURVE keypair in Z85, like Cluster::Backend::ZeroMQ::generate_keypair()')
  .action(() => {
    process.stdout.write(`${JSON.stringify(generateKeypair())}\n`);
  });

registerReplayCommand(program);
registerTapCommand(program);

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`zeek-log-gateway: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
