// The README's configuration examples work as printed: each JSON block is read from README.md
// itself (so the manual cannot drift from what is tested), passes check-config, runs exactly
// the sinks it names (no default sink sneaks in), and a gateway started with it reaches /readyz
// against the local brokers. Only addresses are adapted, through environment variables.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { AMQP_URL, KAFKA_BROKERS, requireKafka, requireRabbitMQ } from '../helpers/brokers.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/gateway.js';

interface Block {
  /** The bold title (or the first words) of the paragraph before the block. */
  title: string;
  section: string;
  json: string;
}

/** Every ```json block of README.md, with its section and the paragraph that introduces it. */
function readmeJsonBlocks(): Block[] {
  const lines = readFileSync('README.md', 'utf8').split('\n');
  const blocks: Block[] = [];
  let section = '';
  let paragraph = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heading = /^#{2,3} (.+)$/.exec(line);
    if (heading) section = heading[1]!;
    // The first line of each paragraph: its bold title, or its first words.
    if (line.trim() !== '' && !line.startsWith('```') && (i === 0 || lines[i - 1]!.trim() === '')) {
      paragraph = /^\*\*([^*]+?)\.?\*\*/.exec(line)?.[1] ?? line.split(/[:(]/)[0]!.trim();
    }
    if (line === '```json') {
      const end = lines.indexOf('```', i + 1);
      blocks.push({ section, title: paragraph, json: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return blocks;
}

type Json = Record<string, unknown>;

/** Sinks a configuration names itself: the ones it defines and the ones its routes and dead letters use. */
function namedSinks(config: Json): string[] {
  const names = new Set<string>();
  for (const [name, value] of Object.entries((config.sinks ?? {}) as Json)) if (value !== null) names.add(name);
  const routing = (config.routing ?? {}) as { routes?: Array<{ destinations: Array<{ sink: string }> }>; defaultRoute?: { destinations: Array<{ sink: string }> } | null };
  for (const r of [...(routing.routes ?? []), ...(routing.defaultRoute ? [routing.defaultRoute] : [])]) {
    for (const d of r.destinations) names.add(d.sink);
  }
  const dl = (config.deadLetter as { sink?: string } | undefined)?.sink;
  if (dl) names.add(dl);
  return [...names].sort();
}

/** The CLI with only warnings logged, so that check-config's output is the configuration alone. */
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { ZLG_LOG_LEVEL: 'warn', ...env });

const envName = (sink: string, key: string): string => `ZLG_SINK_${sink.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_${key}`;

/** Environment that points the effective configuration at the local brokers, free ports and a temporary spool. */
async function localEnv(effective: Json, dir: string): Promise<{ env: Record<string, string>; httpPort: number }> {
  const httpPort = await freePort();
  const env: Record<string, string> = {
    ZLG_HTTP_ENABLED: 'true',
    ZLG_HTTP_HOST: '127.0.0.1',
    ZLG_HTTP_PORT: String(httpPort),
    ZLG_INGRESS_SUB_ENDPOINTS: `tcp://127.0.0.1:${await freePort()}`,
    ZLG_INGRESS_PULL_ENDPOINTS: `tcp://127.0.0.1:${await freePort()}`,
    ZLG_SHUTDOWN_LINGER_MS: '1000',
  };
  for (const [name, sink] of Object.entries(effective.sinks as Record<string, Json>)) {
    if (sink.type === 'amqp') {
      env[envName(name, 'URL')] = AMQP_URL;
      env[envName(name, 'PASSWORD_FILE')] = '';
    }
    if (sink.type === 'kafka') env[envName(name, 'BROKERS')] = KAFKA_BROKERS.join(',');
    if ((sink.buffer as { spool?: { enabled?: boolean } }).spool?.enabled) env[envName(name, 'BUFFER_SPOOL_DIR')] = join(dir, `spool-${name}`);
  }
  return { env, httpPort };
}

/** Queues the recipes declare on the shared test broker; removed afterwards so they do not fill up. */
const declaredQueues = new Set<string>();

before(async () => {
  await requireRabbitMQ();
  await requireKafka();
});

after(async () => {
  if (declaredQueues.size === 0) return;
  // Tidying the shared broker only: a failure here says nothing about the recipes.
  const conn = await amqp.connect(AMQP_URL).catch(() => undefined);
  if (!conn) return;
  const ch = await conn.createChannel();
  // The shipped default queue stays: other runs (npm start) use it.
  for (const q of declaredQueues) if (q !== 'zeek') await ch.deleteQueue(q).catch(() => undefined);
  await conn.close().catch(() => undefined);
});

const blocks = readmeJsonBlocks();
const recipes = blocks.filter((b) => b.section === 'Recipes' || b.section === 'Configuration');

test('README.md has the configuration example and its recipes as JSON blocks', () => {
  assert.ok(blocks.length >= 5, `found ${blocks.length} JSON blocks`);
  assert.deepEqual(
    recipes.map((b) => b.title),
    [
      'Replacing the shipped sinks and routes',
      'An example that sends `conn` and `dns` to a SIEM queue and to Kafka keyed by connection, and everything',
      'A SIEM queue per log type',
      'Fan-out to two brokers',
      'A busy Zeek cluster into Kafka',
      'Elastic / OpenSearch',
      'Elastic / OpenSearch from the NCSA plugin',
      'Splunk',
    ],
  );
});

for (const block of blocks) {
  test(`README "${block.title}": check-config accepts it as printed`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlg-recipe-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, block.json);
    const check = cli(['check-config', '--config', file]);
    assert.equal(await check.exit, 0, check.output());
    JSON.parse(check.stdout());
  });
}

for (const block of recipes) {
  test(`README "${block.title}": runs exactly the sinks it names and reaches /readyz`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zlg-recipe-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, block.json);
    const recipe = JSON.parse(block.json) as Json;
    const check = cli(['check-config', '--config', file]);
    assert.equal(await check.exit, 0, check.output());
    const effective = JSON.parse(check.stdout()) as Json;
    const sinks = effective.sinks as Record<string, Json & { enabled: boolean; queue?: { name?: string } }>;
    const enabled = Object.keys(sinks).filter((n) => sinks[n]!.enabled).sort();
    assert.deepEqual(enabled, namedSinks(recipe), 'the sinks that run are the ones the recipe names');
    for (const n of enabled) if (sinks[n]!.queue?.name) declaredQueues.add(sinks[n]!.queue!.name!);

    const { env, httpPort } = await localEnv(effective, dir);
    const run = cli(['run', '--config', file], env);
    let ready: { ready: boolean; sinks: Record<string, unknown> } | undefined;
    try {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
        if (res?.status === 200) {
          ready = (await res.json()) as typeof ready;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      run.kill();
    }
    const exit = await run.exit;
    assert.ok(ready, `never ready:\n${run.output()}`);
    assert.deepEqual(Object.keys(ready.sinks).sort(), enabled);
    assert.equal(exit, 0, run.output());
  });
}
