// deploy/systemd: the unit is one systemd accepts without a warning (systemd-analyze verify;
// skipped where it is not installed, except under CI), sandboxed as documented, and agrees with
// the package, the example config and the example environment file it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';
import { envVariables } from '../../../src/config/env.js';
import { schema } from '../../../src/config/schema.js';
import { sinkSchema } from '../../../src/config/sinks.js';

const ROOT = process.cwd();
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const UNIT = 'deploy/systemd/zeek-log-gateway.service';

/** The unit's directives, per section, each key with all its values in order. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) sections.set(section[1]!, (current = new Map()));
    else {
      const eq = line.indexOf('=');
      assert.ok(current && eq > 0, `a directive inside a section: ${line}`);
      const key = line.slice(0, eq);
      current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return sections;
}

const unit = parseUnit(read(UNIT));
const service = unit.get('Service')!;
const one = (key: string): string => {
  const v = service.get(key);
  assert.ok(v && v.length === 1, `[Service] ${key} set once`);
  return v[0]!;
};

/** systemd-analyze verify on a file; null when systemd-analyze is not installed. */
function verify(file: string): { status: number | null; output: string } | null {
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return null;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

test('systemd-analyze verify accepts the unit without a warning (and catches a broken one)', (t) => {
  const ok = verify(UNIT);
  // CI installs it (scripts/ops-tools.sh), so there a missing tool is a failure, not a skip.
  if (!ok && process.env.CI === 'true') assert.fail('systemd-analyze is not installed: bash scripts/ops-tools.sh');
  if (!ok) return t.skip('systemd-analyze is not installed (bash scripts/ops-tools.sh)');
  // verify exits 0 on unknown keys and bad values, and only says so: any output is a failure.
  assert.deepEqual(ok, { status: 0, output: '' });
  const broken = join(mkdtempSync(join(tmpdir(), 'zlg-unit-')), 'zeek-log-gateway.service');
  writeFileSync(broken, read(UNIT).replace('ProtectSystem=strict', 'ProtectSystem=strictest').replace('UMask=0077', 'UMask=0077\nDynamicUsers=yes'));
  const bad = verify(broken)!;
  assert.match(bad.output, /ProtectSystem|protect system/i);
  assert.match(bad.output, /DynamicUsers/);
});

test('ExecStart runs the package bin with node and the documented config; SIGHUP is the reload', () => {
  const pkg = JSON.parse(read('package.json')) as { name: string; bin: Record<string, string> };
  const exec = one('ExecStart').split(/\s+/);
  assert.equal(exec[0], '/usr/bin/node');
  assert.equal(exec[1], `/opt/zeek-log-gateway/node_modules/${pkg.name}/${pkg.bin[pkg.name]}`, 'the package bin under the install prefix');
  assert.deepEqual(exec.slice(2), ['run', '--config', '/etc/zeek-log-gateway/config.json']);
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(one('Type'), 'exec');
});

test('stop: SIGTERM with a timeout above the drain linger plus the ingress stop; restart on failure, not on a bad config', () => {
  const { config } = loadConfig(['deploy/systemd/config.json'], {});
  assert.equal(one('KillSignal'), 'SIGTERM');
  const timeoutS = Number(/^(\d+)s$/.exec(one('TimeoutStopSec'))?.[1]);
  // Gateway.stop: up to 2 s reading what the sockets queued, then the linger, then closing.
  assert.ok(timeoutS * 1000 >= config.shutdown.lingerMs + 2000 + 10_000, `TimeoutStopSec ${timeoutS}s leaves room for lingerMs ${config.shutdown.lingerMs}`);
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('RestartPreventExitStatus'), '2', 'exit 2 (invalid configuration) is not restarted');
});

test('sandbox: dynamic user, read-only system and config, the spool in the state directory', () => {
  for (const [key, value] of [
    ['DynamicUser', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
    ['NoNewPrivileges', 'yes'],
    ['CapabilityBoundingSet', ''],
    ['StateDirectory', 'zeek-log-gateway'],
    ['ReadOnlyPaths', '/etc/zeek-log-gateway'],
    ['EnvironmentFile', '/etc/zeek-log-gateway/env'],
  ] as const) {
    assert.equal(one(key), value, key);
  }
  assert.equal(service.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
  // The example config keeps every spool in /var/lib/<StateDirectory>, the only writable place.
  const { config } = loadConfig(['deploy/systemd/config.json'], {});
  const spooled = config.sinks.filter((s) => s.enabled && s.buffer.spool?.enabled);
  assert.ok(spooled.length > 0);
  for (const s of spooled) assert.ok(s.buffer.spool!.dir.startsWith('/var/lib/zeek-log-gateway/'), `${s.name}: spool in the state directory`);
  assert.equal(config.http.host, '127.0.0.1', 'metrics and health on localhost on a sensor host');
});

test('env.example names only real settings, and the config loads with it', () => {
  const known = new Set([
    ...envVariables(schema).map((v) => v.env),
    ...envVariables(sinkSchema('rabbitmq', 'amqp')).map((v) => v.env),
    ...envVariables(sinkSchema('kafka', 'kafka')).map((v) => v.env),
  ]);
  const env: Record<string, string> = {};
  let names = 0;
  for (const line of read('deploy/systemd/env.example').split('\n')) {
    const m = /^(#?)(ZLG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    names++;
    assert.ok(known.has(m[2]!), `${m[2]} is a configuration variable`);
    if (!m[1]) env[m[2]!] = m[3]!;
  }
  assert.ok(names >= 4);
  const { config } = loadConfig(['deploy/systemd/config.json'], env);
  assert.equal(config.sinks.find((s) => s.name === 'rabbitmq')?.options.password, env.ZLG_SINK_RABBITMQ_PASSWORD);
});
