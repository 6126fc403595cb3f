// The Dockerfile, read as text (no engine here): stages, base image, user, healthcheck, listener
// address and ports agree with the gateway's configuration. deploy/simulate-image.sh replays the
// same npm steps outside Docker; the npm lines are compared with the Dockerfile's here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load.js';

const ROOT = process.cwd();
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ op: string; args: string; stage: number }> {
  const out: Array<{ op: string; args: string; stage: number }> = [];
  let stage = -1;
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'FROM') stage++;
    out.push({ op: m[1]!, args: m[2]!.replace(/\s+/g, ' ').trim(), stage });
  }
  return out;
}

const dockerfile = instructions(read('Dockerfile'));
const args = new Map(dockerfile.filter((i) => i.op === 'ARG' && i.stage === -1).map((i) => i.args.split('=') as [string, string]));
const from = dockerfile.filter((i) => i.op === 'FROM');
const runtime = dockerfile.filter((i) => i.stage === from.length - 1);
const one = (op: string): string => {
  const found = runtime.filter((i) => i.op === op);
  assert.equal(found.length, 1, `one ${op} in the runtime stage`);
  return found[0]!.args;
};

test('two stages on a pinned Node 24 slim image', () => {
  assert.equal(from.length, 2);
  const base = args.get('NODE_IMAGE');
  assert.match(base ?? '', /^node:24(\.\d+){0,2}-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  assert.deepEqual(from.map((f) => f.args), ['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
});

test('build stage: npm ci with dev dependencies, then npm run build; runtime: production dependencies only', () => {
  const build = dockerfile.filter((i) => i.stage === 0 && i.op === 'RUN').map((i) => i.args);
  assert.deepEqual(build, ['npm ci --ignore-scripts --no-audit --no-fund', 'npm run build']);
  const run = runtime.filter((i) => i.op === 'RUN').map((i) => i.args);
  assert.equal(run.length, 2);
  assert.equal(run[1], 'install -d -o node -g node /var/spool/zeek-log-gateway', 'the spool folder belongs to the user the gateway runs as');
  assert.match(run[0]!, /^npm ci --omit=dev --ignore-scripts --no-audit --no-fund && /);
  assert.match(run[0]!, /node -e "require\('zeromq'\)/, 'the native addon must load at build time');
  assert.ok(runtime.some((i) => i.op === 'COPY' && i.args === '--from=build /src/dist ./dist'));
  // config/default.json is loaded relative to dist/config/load.js: /app/config/default.json.
  assert.ok(runtime.some((i) => i.op === 'COPY' && i.args === 'config ./config'));
  assert.equal(runtime.find((i) => i.op === 'WORKDIR')?.args, '/app');
});

test('deploy/simulate-image.sh runs the npm steps of the Dockerfile', () => {
  const sim = read('deploy/simulate-image.sh');
  assert.match(sim, /npm_image ci --ignore-scripts --no-audit --no-fund\)/);
  assert.match(sim, /npm_image run build\)/);
  assert.match(sim, /npm_image ci --omit=dev --ignore-scripts --no-audit --no-fund\)/);
  assert.match(sim, /node -e "require\('zeromq'\)/);
  const healthcheck = /CMD \["node", "-e", "(.*)"\]$/.exec(one('HEALTHCHECK'))![1]!.replace(/\\"/g, '"');
  assert.ok(sim.includes(`node -e "${healthcheck}"`), 'the simulation probes /readyz with the HEALTHCHECK command itself');
});

test('one image variant: no build argument, no native Kafka client, no compiler in the runtime stage', () => {
  assert.ok(!runtime.some((i) => i.op === 'ARG'), 'no build argument');
  const run = runtime.find((i) => i.op === 'RUN')!.args;
  assert.doesNotMatch(run, /rdkafka|apt-get|node-gyp|npm rebuild/);
});

test('runs as the unprivileged node user with the CLI as entry point and the mounted config', () => {
  assert.equal(one('USER'), 'node');
  assert.equal(one('ENTRYPOINT'), '["node", "/app/dist/cli.js"]');
  assert.equal(one('CMD'), '["run", "--config", "/etc/zeek-log-gateway/config.json"]');
  assert.ok(!runtime.some((i) => i.op === 'VOLUME'), 'the config is a bind mount or ConfigMap, no anonymous volume');
});

test('listens on every address, exposes the configured ports, healthcheck on /readyz', () => {
  assert.match(one('ENV'), /(^| )ZLG_HTTP_HOST=0\.0\.0\.0( |$)/);
  assert.match(one('ENV'), /(^| )NODE_ENV=production( |$)/);
  const { config } = loadConfig([join(ROOT, 'config/docker.json')], { ZLG_HTTP_HOST: '0.0.0.0' });
  const port = (e: string): number => Number(/:(\d+)$/.exec(e)![1]);
  const exposed = one('EXPOSE').split(' ').map(Number).sort();
  assert.deepEqual(
    exposed,
    [config.http.port, port(config.ingress.pull.endpoints[0]!), port(config.ingress.sub.endpoints[0]!)].sort(),
  );
  const hc = one('HEALTHCHECK');
  assert.match(hc, /^--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD \["node", "-e", /);
  assert.ok(hc.includes(`process.env.ZLG_HTTP_PORT||${config.http.port}`), 'default port = http.port');
  assert.ok(hc.includes("+'/readyz')"));
  assert.ok(!/curl|wget/.test(hc), 'slim images have neither');
});

test('.dockerignore lets only the sources, lockfile and configuration into the context', () => {
  const lines = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(lines, ['*', '!package.json', '!package-lock.json', '!tsconfig.json', '!tsconfig.build.json', '!src/', '!config/']);
  const copied = dockerfile.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(' ').slice(0, -1));
  const allowed = lines.slice(1).map((l) => l.slice(1).replace(/\/$/, ''));
  for (const src of copied) assert.ok(allowed.some((a) => src === a || src.startsWith(`${a}/`)), `${src} is in the build context`);
});
