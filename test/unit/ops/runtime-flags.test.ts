import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli, writeConfig } from '../../helpers/cli.js';
import { eventually, freePort } from '../../helpers/gateway.js';
import { SEMI_SPACE_FLAG, SEMI_SPACE_MB, relaunchArgv } from '../../../src/ops/runtime-flags.js';

const FLAG = `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MB}`;

test('relaunchArgv adds the young-generation flag before the node options and the script', () => {
  assert.deepEqual(relaunchArgv('/usr/bin/node', ['--import', 'tsx'], ['/usr/bin/node', 'src/cli.ts', 'run', '-c', 'x.json']), [
    '/usr/bin/node',
    FLAG,
    '--import',
    'tsx',
    'src/cli.ts',
    'run',
    '-c',
    'x.json',
  ]);
});

test('relaunchArgv keeps a size the operator chose, on the command line or in NODE_OPTIONS', () => {
  assert.equal(relaunchArgv('node', ['--max-semi-space-size=64'], ['node', 'cli.js']), undefined);
  assert.equal(relaunchArgv('node', ['--max-semi-space-size', '64'], ['node', 'cli.js']), undefined);
  assert.equal(relaunchArgv('node', [], ['node', 'cli.js'], '--enable-source-maps  --max-semi-space-size=32'), undefined);
  // Another option that merely starts alike is not the same option.
  assert.ok(relaunchArgv('node', ['--max-semi-space-size-x=1'], ['node', 'cli.js']));
});

/** The command line of a running process, as the kernel has it. */
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

async function runningGateway(env: Record<string, string> = {}) {
  const file = writeConfig({
    ingress: { sub: { endpoints: [`tcp://127.0.0.1:${await freePort()}`] } },
    http: { enabled: false },
    sinks: { rabbitmq: null, kafka: null, out: { type: 'console', file: '/dev/null' } },
    routing: { routes: [{ match: ['*'], destinations: [{ sink: 'out' }] }] },
  });
  const p = runCli(['run', '--config', file], env);
  await eventually(() => p.logs.some((l) => l.msg === 'gateway running'), 20_000, 'gateway running');
  return p;
}

test('the gateway runs with the young-generation flag, in the process it was started as', async () => {
  const p = await runningGateway();
  try {
    const args = cmdline(p.child.pid as number);
    assert.ok(args.includes(FLAG), `command line: ${args.join(' ')}`);
    assert.equal(args.filter((a) => a.startsWith(SEMI_SPACE_FLAG)).length, 1);
  } finally {
    p.kill();
    assert.equal(await p.exit, 0);
  }
});

test('the gateway leaves the young generation alone when NODE_OPTIONS sizes it', async () => {
  const p = await runningGateway({ NODE_OPTIONS: `${SEMI_SPACE_FLAG}=32` });
  try {
    const args = cmdline(p.child.pid as number);
    assert.ok(!args.some((a) => a.startsWith(SEMI_SPACE_FLAG)), `command line: ${args.join(' ')}`);
  } finally {
    p.kill();
    assert.equal(await p.exit, 0);
  }
});
