// The compose stack agrees with itself: docker-compose.yml, the gateway's container config
// (config/docker.json, loaded and validated exactly as at run time), the Zeek scripts in
// deploy/zeek and deploy/.env.example name the same hosts, ports, paths and variables.
// scripts/validate-compose.sh checks the file against the Compose Specification; this checks
// what a schema cannot: that the pieces fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, type GatewayConfig } from '../../../src/config/load.js';
import { envVariables } from '../../../src/config/env.js';
import { schema } from '../../../src/config/schema.js';
import { sinkSchema } from '../../../src/config/sinks.js';
import { ZEEK_ENV, generateKeypair } from '../../../src/ingress/curve/index.js';

const ROOT = process.cwd();
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

type Env = Record<string, string | null>;
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  entrypoint?: string[];
  environment?: Env;
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  profiles?: string[];
  network_mode?: string;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  restart?: string;
  user?: string;
  cap_add?: string[];
  hostname?: string;
}
interface Compose {
  name: string;
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: Array<{ subnet: string; ip_range: string; gateway: string }> } }>;
  volumes: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as Compose;
const svc = (name: string): Service => {
  const s = compose.services[name];
  assert.ok(s, `service ${name} in docker-compose.yml`);
  return s;
};

/** Compose interpolation of the forms this file uses: ${NAME}, ${NAME:-default}, ${NAME-default}. */
function interpolate(value: string, vars: Record<string, string> = {}): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}/g, (_m, name: string, colon: string, def?: string) => {
    const v = vars[name];
    if (def === undefined) return v ?? '';
    return v === undefined || (colon === ':' && v === '') ? def : v;
  });
}

/** A service's environment as the container would get it: interpolated, pass-through entries unset unless in `vars`. */
function containerEnv(s: Service, vars: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.environment ?? {})) {
    if (v === null || v === undefined) {
      if (vars[k] !== undefined) out[k] = vars[k];
    } else out[k] = interpolate(String(v), vars);
  }
  return out;
}

const ipOf = (s: Service): string => {
  const nets = s.networks as Record<string, { ipv4_address?: string } | null>;
  const addr = nets?.zlg?.ipv4_address;
  assert.ok(addr, 'a fixed ipv4_address on the zlg network');
  return addr;
};
const portOf = (endpoint: string): number => Number(/:(\d+)$/.exec(endpoint)?.[1]);
const hostOf = (endpoint: string): string => /^tcp:\/\/(.+):\d+$/.exec(endpoint)?.[1] ?? '';
/** "source:target[:ro]" bind mounts of a service, target → source. */
const mounts = (s: Service): Map<string, string> =>
  new Map((s.volumes ?? []).map((v) => interpolate(v).split(':')).map(([source, target]) => [target!, source!]));
const seconds = (d: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(d);
  assert.ok(m, `duration ${d}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
};

// ---------------------------------------------------------------------------------------------
// The gateway's configuration and the Zeek scripts

const gateway = svc('gateway');
const GATEWAY_ENV = containerEnv(gateway);
function gatewayConfig(vars: Record<string, string> = {}): GatewayConfig {
  return loadConfig([join(ROOT, 'config/docker.json')], containerEnv(gateway, vars)).config;
}
const config = gatewayConfig();

const zeek = (file: string): string => read(join('deploy/zeek', file)).replace(/#.*$/gm, '');
interface LayoutNode {
  type: string;
  ip: string;
  port?: number;
}
const layout = new Map<string, LayoutNode>();
for (const m of zeek('cluster-layout.zeek').matchAll(/\["([^"]+)"\]\s*=\s*\[([^\]]*)\]/g)) {
  const fields = Object.fromEntries([...m[2]!.matchAll(/\$(\w+)\s*=\s*([^,\s]+)/g)].map((f) => [f[1], f[2]]));
  layout.set(m[1]!, {
    type: fields.node_type!,
    ip: fields.ip!,
    ...(fields.p ? { port: Number(/^(\d+)\/tcp$/.exec(fields.p)?.[1]) } : {}),
  });
}
const redefs = (file: string): Map<string, string> =>
  new Map([...zeek(file).matchAll(/redef\s+([\w:]+)\s*=\s*("([^"]*)"|[^;]+);/g)].map((m) => [m[1]!, m[3] ?? m[2]!.trim()]));
const common = redefs('common.zeek');
const layoutRedefs = redefs('cluster-layout.zeek');

// ---------------------------------------------------------------------------------------------

test('services: brokers, gateway and a Zeek cluster by default; live and ncsa behind profiles', () => {
  assert.equal(compose.name, 'zeek-log-gateway');
  const byDefault = Object.entries(compose.services).filter(([, s]) => !s.profiles).map(([n]) => n).sort();
  assert.deepEqual(byDefault, ['gateway', 'kafka', 'rabbitmq', 'zeek-manager', 'zeek-worker']);
  assert.deepEqual(svc('zeek-worker-live').profiles, ['live']);
  assert.deepEqual(svc('zeek-ncsa').profiles, ['ncsa']);
});

test('images are pinned to versions: Zeek 8, RabbitMQ 4 with the management UI, Apache Kafka', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    assert.ok(s.image, `${name} names an image`);
    assert.doesNotMatch(s.image, /:latest$|^[^:]+$/, `${name}: ${s.image} is not pinned`);
  }
  assert.match(svc('zeek-manager').image!, /^zeek\/zeek:8\.\d+\.\d+$/);
  assert.equal(svc('zeek-worker').image, svc('zeek-manager').image);
  assert.equal(svc('zeek-worker-live').image, svc('zeek-manager').image);
  assert.equal(svc('zeek-ncsa').build?.args?.ZEEK_IMAGE, svc('zeek-manager').image, 'the NCSA image builds on the same Zeek');
  assert.match(read('deploy/zeek-ncsa/Dockerfile'), new RegExp(`^ARG ZEEK_IMAGE=${svc('zeek-manager').image}$`, 'm'));
  assert.match(svc('rabbitmq').image!, /^rabbitmq:4\.\d+\.\d+-management$/);
  assert.match(svc('kafka').image!, /^apache\/kafka:\d+\.\d+\.\d+$/);
  // One image, no build arguments: both Kafka clients are pure JavaScript (no librdkafka variant).
  assert.deepEqual(gateway.build, { context: '.', dockerfile: 'Dockerfile' });
  assert.doesNotMatch(read('Dockerfile'), /LIBRDKAFKA|rdkafka/);
  assert.doesNotMatch(read('deploy/.env.example'), /LIBRDKAFKA/);
});

test('config/docker.json loads through loadConfig with the environment compose gives the gateway', () => {
  assert.equal(config.ingress.pull.enabled, true);
  assert.equal(config.ingress.sub.enabled, true);
  for (const e of [...config.ingress.pull.endpoints, ...config.ingress.sub.endpoints]) {
    assert.equal(hostOf(e), '0.0.0.0', `${e} listens on every address of the container`);
  }
  assert.equal(config.ingress.pull.security.enabled, false, 'CURVE is off unless .env turns it on');
  assert.deepEqual(config.sinks.filter((s) => s.enabled).map((s) => s.name).sort(), ['kafka', 'rabbitmq']);
  assert.ok(config.sinks.every((s) => s.required), 'both brokers are required for /readyz, so Zeek waits for them');
  assert.equal(config.http.enabled, true);
});

test('every log goes to both brokers', () => {
  const routes = config.routing.routes;
  assert.equal(routes.length, 1);
  assert.deepEqual(routes[0]!.match, ['*']);
  assert.deepEqual(routes[0]!.destinations.map((d) => d.sink).sort(), ['kafka', 'rabbitmq']);
  assert.deepEqual(config.routing.include, []);
  assert.deepEqual(config.routing.exclude, []);
});

test('the config file mounted into the gateway is the one its command reads', () => {
  const cmd = gateway.command ?? [];
  const path = cmd[cmd.indexOf('--config') + 1];
  assert.equal(path, '/etc/zeek-log-gateway/config.json');
  assert.equal(resolve(ROOT, mounts(gateway).get(path)!), join(ROOT, 'config/docker.json'));
  assert.ok(gateway.volumes?.some((v) => v.endsWith(`:${path}:ro`)), 'mounted read-only');
  const dockerfile = read('Dockerfile');
  assert.match(dockerfile, new RegExp(`^CMD \\["run", "--config", "${path}"\\]$`, 'm'), 'the image default reads the same path');
  assert.match(dockerfile, new RegExp(`^COPY config/docker.json ${path}$`, 'm'), 'and ships config/docker.json there');
});

test('Zeek layout: the gateway is the only logger, at its PULL endpoint', () => {
  assert.equal(layoutRedefs.get('Cluster::manager_is_logger'), 'F', 'the manager PUSHes its logs too');
  const loggers = [...layout].filter(([, n]) => n.type === 'Cluster::LOGGER');
  assert.equal(loggers.length, 1, 'one LOGGER: PUSH round-robins over loggers, so the gateway must be the only one');
  const [, logger] = loggers[0]!;
  assert.equal(config.ingress.pull.endpoints.length, 1);
  assert.equal(logger.port, portOf(config.ingress.pull.endpoints[0]!), 'logger $p = ingress.pull endpoint port');
  assert.equal(logger.ip, ipOf(gateway), 'logger $ip = the gateway container address');
  assert.ok(gateway.expose?.includes(String(logger.port)));
});

test('Zeek layout: manager and workers sit at their containers, the proxy endpoints fit together', () => {
  const manager = layout.get('manager')!;
  assert.equal(manager.type, 'Cluster::MANAGER');
  assert.equal(manager.ip, ipOf(svc('zeek-manager')));
  assert.equal(containerEnv(svc('zeek-manager')).CLUSTER_NODE, 'manager');

  const worker = layout.get('worker-1')!;
  assert.equal(worker.type, 'Cluster::WORKER');
  assert.equal(worker.ip, ipOf(svc('zeek-worker')));
  assert.equal(containerEnv(svc('zeek-worker')).CLUSTER_NODE, 'worker-1');

  const live = layout.get('worker-live')!;
  assert.equal(live.type, 'Cluster::WORKER');
  assert.equal(containerEnv(svc('zeek-worker-live')).CLUSTER_NODE, 'worker-live');
  assert.equal(live.ip, compose.networks.zlg!.ipam.config[0]!.gateway, 'the host side of the compose bridge');

  // Nodes connect their XPUB to the proxy's XSUB and their XSUB to its XPUB, on the manager.
  const P = 'Cluster::Backend::ZeroMQ::';
  for (const [connect, listen] of [
    ['connect_xpub_endpoint', 'listen_xsub_endpoint'],
    ['connect_xsub_endpoint', 'listen_xpub_endpoint'],
  ] as const) {
    assert.equal(hostOf(common.get(P + connect)!), manager.ip, `${connect} points at the manager`);
    assert.equal(hostOf(common.get(P + listen)!), '0.0.0.0');
    assert.equal(portOf(common.get(P + connect)!), portOf(common.get(P + listen)!), `${connect} = ${listen} port`);
  }
  assert.ok(
    svc('zeek-manager').healthcheck!.test.join(' ').includes(`/dev/tcp/127.0.0.1/${portOf(common.get(P + 'listen_xsub_endpoint')!)}`),
    'the manager is healthy once the proxy listens',
  );
  assert.match(zeek('common.zeek'), /^@load policy\/frameworks\/cluster\/backend\/zeromq$/m, 'Zeek 8.1+ needs the backend loaded');
});

test('fixed addresses lie in the compose subnet, outside the range handed out to the brokers', () => {
  const { subnet, ip_range, gateway: gw } = compose.networks.zlg!.ipam.config[0]!;
  const [net, bits] = subnet.split('/');
  const [range, rangeBits] = ip_range.split('/');
  const num = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const inside = (ip: string, base: string, b: string): boolean =>
    Math.floor(num(ip) / 2 ** (32 - Number(b))) === Math.floor(num(base) / 2 ** (32 - Number(b)));
  const fixed = Object.entries(compose.services).filter(([, s]) => !s.network_mode).map(([n, s]) => [n, s] as const);
  const addresses = fixed
    .filter(([, s]) => (s.networks as Record<string, { ipv4_address?: string } | null>)?.zlg?.ipv4_address)
    .map(([n, s]) => [n, ipOf(s)] as const);
  assert.ok(addresses.length >= 4);
  assert.equal(new Set(addresses.map(([, a]) => a)).size, addresses.length, 'addresses are unique');
  for (const [name, addr] of addresses) {
    assert.ok(inside(addr, net!, bits!), `${name} ${addr} in ${subnet}`);
    assert.ok(!inside(addr, range!, rangeBits!), `${name} ${addr} outside ${ip_range}`);
    assert.notEqual(addr, gw);
  }
  for (const node of layout.values()) assert.ok(inside(node.ip, net!, bits!), `${node.ip} in ${subnet}`);
});

test('network hygiene: every service on the compose network zlg, published ports on the host loopback only', () => {
  // The one exception: sniffing a host interface needs the host's network (profile live).
  const hostNetwork = Object.entries(compose.services).filter(([, s]) => s.network_mode !== undefined);
  assert.deepEqual(hostNetwork.map(([n, s]) => `${n}:${s.network_mode}`), ['zeek-worker-live:host']);
  assert.deepEqual(svc('zeek-worker-live').ports, undefined, 'the host-network service publishes nothing');
  assert.deepEqual(Object.keys(compose.networks), ['zlg']);
  for (const [name, s] of Object.entries(compose.services)) {
    if (s.network_mode) continue;
    const nets = Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
    assert.deepEqual(nets, ['zlg'], `${name} is on zlg only`);
    for (const p of s.ports ?? []) assert.match(p, /^127\.0\.0\.1:\$\{[A-Z_]+_HOST_PORT:-\d+\}:\d+$/, `${name} publishes ${p} on 127.0.0.1, its host port movable`);
  }
});

test('the NCSA profile publishes to the gateway SUB endpoint', () => {
  const endpoint = redefs('ncsa.zeek').get('LogZeroMQ::endpoint')!;
  assert.equal(hostOf(endpoint), ipOf(gateway));
  assert.equal(portOf(endpoint), portOf(config.ingress.sub.endpoints[0]!));
  assert.ok(Number(redefs('ncsa.zeek').get('LogZeroMQ::zmq_connect_pause')) >= 1000, 'slow joiner: pause after connecting');
  const ncsa = svc('zeek-ncsa');
  assert.equal(containerEnv(ncsa).ZEEK_ROLE, 'ncsa');
  assert.equal(containerEnv(ncsa).CLUSTER_NODE, undefined, 'a standalone Zeek, not a cluster node');
  assert.equal(ncsa.build?.context, './deploy/zeek-ncsa');
  assert.ok(existsSync(join(ROOT, 'deploy/zeek-ncsa/Dockerfile')));
  assert.ok(gateway.expose?.includes(String(portOf(endpoint))));
});

test('healthchecks: the gateway is probed on /readyz at http.port', () => {
  const probe = gateway.healthcheck!.test.join(' ');
  const url = /http:\/\/([\d.]+):(\d+)(\/\w+)/.exec(probe);
  assert.ok(url, probe);
  assert.equal(Number(url[2]), config.http.port);
  assert.equal(url[3], '/readyz');
  assert.equal(config.http.host, '0.0.0.0');
  assert.equal(GATEWAY_ENV.ZLG_HTTP_HOST, '0.0.0.0');
  const published = (gateway.ports ?? []).map((p) => interpolate(p));
  assert.ok(published.includes(`127.0.0.1:${config.http.port}:${config.http.port}`), 'metrics published on the host loopback');
});

test('start order: brokers healthy -> gateway ready -> Zeek manager -> workers', () => {
  const deps = (name: string): Record<string, string> =>
    Object.fromEntries(Object.entries(svc(name).depends_on ?? {}).map(([k, v]) => [k, v.condition]));
  assert.deepEqual(deps('gateway'), { rabbitmq: 'service_healthy', kafka: 'service_healthy' });
  assert.deepEqual(deps('zeek-manager'), { gateway: 'service_healthy' });
  assert.deepEqual(deps('zeek-worker'), { gateway: 'service_healthy', 'zeek-manager': 'service_healthy' });
  assert.deepEqual(deps('zeek-worker-live'), { gateway: 'service_healthy', 'zeek-manager': 'service_healthy' });
  assert.deepEqual(deps('zeek-ncsa'), { gateway: 'service_healthy' });
  for (const [name, s] of Object.entries(compose.services)) {
    for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
      if (condition === 'service_healthy') assert.ok(svc(dep).healthcheck, `${name} waits for ${dep}, which has a healthcheck`);
    }
  }
});

test('the gateway reaches the brokers at their compose service names and listeners', () => {
  const rabbit = config.sinks.find((s) => s.name === 'rabbitmq')!;
  assert.equal(rabbit.options.url, '', 'no URL: host, port and user below, password from the environment');
  assert.equal(rabbit.options.host, 'rabbitmq');
  assert.equal(svc('rabbitmq').hostname, 'rabbitmq');
  assert.ok(svc('rabbitmq').expose?.includes(String(rabbit.options.port)));
  const rabbitEnv = containerEnv(svc('rabbitmq'));
  assert.equal(rabbit.options.username, rabbitEnv.RABBITMQ_DEFAULT_USER);
  assert.equal(rabbit.options.password, rabbitEnv.RABBITMQ_DEFAULT_PASS, 'the same password on both sides');
  for (const password of ['s3cret', 'other']) {
    const vars = { RABBITMQ_PASSWORD: password };
    assert.equal(containerEnv(gateway, vars).ZLG_SINK_RABBITMQ_PASSWORD, containerEnv(svc('rabbitmq'), vars).RABBITMQ_DEFAULT_PASS);
  }

  const kafka = config.sinks.find((s) => s.name === 'kafka')!;
  const brokers = kafka.options.brokers as string[];
  assert.deepEqual(brokers, ['kafka:9092']);
  const kafkaEnv = containerEnv(svc('kafka'));
  const advertised = Object.fromEntries(
    kafkaEnv.KAFKA_ADVERTISED_LISTENERS!.split(',').map((l) => /^(\w+):\/\/(.+)$/.exec(l)!.slice(1, 3) as [string, string]),
  );
  assert.equal(advertised[kafkaEnv.KAFKA_INTER_BROKER_LISTENER_NAME!], brokers[0], 'bootstrap = the advertised internal listener');
  assert.equal(svc('kafka').hostname, 'kafka');
  assert.ok(svc('kafka').expose?.includes(brokers[0]!.split(':')[1]!));
  assert.match(kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS!, /^1@kafka:\d+$/);
  assert.equal(kafkaEnv.KAFKA_PROCESS_ROLES, 'broker,controller', 'KRaft, one node');
  assert.equal(kafkaEnv.KAFKA_AUTO_CREATE_TOPICS_ENABLE, 'true', 'topics zeek-<path> are created on first use');
});

test('every ZLG_ variable compose sets is a real setting', () => {
  const known = new Set([
    ...envVariables(schema).map((v) => v.env),
    ...envVariables(sinkSchema('rabbitmq', 'amqp')).map((v) => v.env),
    ...envVariables(sinkSchema('kafka', 'kafka')).map((v) => v.env),
  ]);
  const used = new Set<string>();
  for (const s of Object.values(compose.services)) for (const k of Object.keys(s.environment ?? {})) if (k.startsWith('ZLG_')) used.add(k);
  for (const line of read('deploy/.env.example').split('\n')) {
    const m = /^#?(ZLG_[A-Z0-9_]+)=/.exec(line);
    if (m && !/_HOST_PORT$/.test(m[1]!)) used.add(m[1]!);
  }
  assert.ok(used.size >= 4);
  for (const name of used) assert.ok(known.has(name), `${name} is a configuration variable`);
});

test('CURVE: one set of Zeek variables for Zeek and the gateway, all pass-through', () => {
  const zeekCurve = [...Object.values(ZEEK_ENV), 'ZEEK_CLUSTER_BACKEND_ZEROMQ_CURVE_CLIENT_SECRETKEY'].sort();
  for (const name of ['zeek-manager', 'zeek-worker', 'zeek-worker-live']) {
    const env = svc(name).environment ?? {};
    const curve = Object.keys(env).filter((k) => k.includes('_CURVE_')).sort();
    assert.deepEqual(curve, zeekCurve, `${name} passes Zeek all four keys`);
    for (const k of curve) assert.equal(env[k], null, `${name} ${k} without a value: unset unless given`);
  }
  const gwCurve = Object.keys(gateway.environment ?? {}).filter((k) => k.startsWith('ZEEK_')).sort();
  assert.deepEqual(gwCurve, Object.values(ZEEK_ENV).sort(), 'the gateway gets the names it reads, never the client secret');
  for (const k of [...gwCurve, 'ZLG_INGRESS_PULL_CURVE_ENABLED']) assert.equal(gateway.environment![k], null);
  assert.equal(Object.keys(svc('zeek-ncsa').environment ?? {}).filter((k) => k.includes('CURVE')).length, 0, 'the NCSA plugin has no CURVE');

  const example = read('deploy/.env.example');
  for (const k of [...zeekCurve, 'ZLG_INGRESS_PULL_CURVE_ENABLED']) assert.match(example, new RegExp(`^#${k}=`, 'm'));
  assert.match(zeek('common.zeek'), /^(?![\s\S]*curve_(server|client)_)/, 'no script-level keys: mixing them with the env is fatal');
});

test('CURVE: keys from deploy/curve-env.sh turn on the PULL ingress with the cluster keys', () => {
  const keygen =
    `node -e "const z=require('zeromq');const k=z.curveKeyPair();` +
    `console.log(JSON.stringify({public:k.publicKey,secret:k.secretKey}))"`;
  const out = execFileSync('bash', [join(ROOT, 'deploy/curve-env.sh')], { cwd: ROOT, env: { ...process.env, ZLG_KEYGEN: keygen } }).toString();
  // .env semantics for the forms the script writes: NAME=value and NAME='literal'.
  const vars: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([A-Z0-9_]+)=(?:'([^']*)'|(\S*))$/.exec(line);
    if (m) vars[m[1]!] = m[2] ?? m[3]!;
  }
  assert.equal(vars.ZLG_INGRESS_PULL_CURVE_ENABLED, 'true');
  const cfg = gatewayConfig(vars);
  const sec = cfg.ingress.pull.security;
  assert.ok(sec.enabled);
  if (!sec.enabled) return;
  assert.equal(sec.serverPublicKey, vars[ZEEK_ENV.serverPublicKey], 'the public key Zeek pins belongs to the secret');
  assert.deepEqual([...sec.allowedClientKeys], [vars[ZEEK_ENV.clientPublicKey]]);
  assert.equal(sec.allowAnyClient, false);
  assert.equal(cfg.ingress.sub.security.enabled, false, 'the SUB ingress (NCSA) stays plaintext');
  const pair = generateKeypair();
  assert.throws(() => gatewayConfig({ ...vars, [ZEEK_ENV.serverPublicKey]: pair.public }), /does not belong/);
});

test('shutdown: compose waits longer than the gateway lingers', () => {
  assert.ok(seconds(gateway.stop_grace_period!) * 1000 >= config.shutdown.lingerMs + 5000);
});

test('Zeek containers run deploy/zeek/run-node.sh from the mounted scripts; the worker reads the mounted traces', () => {
  for (const name of ['zeek-manager', 'zeek-worker', 'zeek-worker-live', 'zeek-ncsa']) {
    const s = svc(name);
    const script = s.entrypoint![s.entrypoint!.length - 1]!;
    const dir = script.slice(0, script.lastIndexOf('/'));
    assert.equal(mounts(s).get(dir), './deploy/zeek', `${name} mounts deploy/zeek at ${dir}`);
    assert.ok(existsSync(join(ROOT, 'deploy/zeek', script.slice(dir.length + 1))));
  }
  for (const name of ['zeek-worker', 'zeek-ncsa']) {
    const s = svc(name);
    const pcapDir = containerEnv(s).ZEEK_PCAP_DIR!;
    assert.equal(mounts(s).get(pcapDir), './deploy/pcaps');
    assert.ok(existsSync(join(ROOT, 'deploy/pcaps/README.md')), 'the default trace folder exists');
  }
  assert.equal(svc('zeek-worker').restart, 'on-failure', 'it stands down (exit 0) when the live worker runs');
  const live = svc('zeek-worker-live');
  assert.equal(live.network_mode, 'host');
  assert.deepEqual(live.cap_add?.sort(), ['NET_ADMIN', 'NET_RAW']);
  assert.equal(containerEnv(live, { ZEEK_INTERFACE: 'eth1' }).ZEEK_INTERFACE, 'eth1');
  for (const name of ['zeek-manager', 'zeek-worker', 'zeek-ncsa']) assert.notEqual(svc(name).user?.split(':')[0], '0');
});

test('only the forms of interpolation the checks above understand', () => {
  const uses = [...composeText.matchAll(/\$(\{[^}]*\}|[A-Za-z_]\w*|\$|)/g)].map((m) => m[0]);
  assert.ok(uses.length > 0);
  for (const u of uses) assert.match(u, /^\$\{[A-Za-z_][A-Za-z0-9_]*(:?-[^}]*)?\}$/, u);
});
