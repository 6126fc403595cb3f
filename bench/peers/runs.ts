// One run of the peers suite: the gateway (through the main suite's runGateway, so its figures
// are measured exactly as in `npm run bench`) or a peer process between the same load generator
// and the same brokers, ending when the broker holds every record, then verified at the broker.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultKafkaOptions } from '../../src/sinks/kafka/options.js';
import type { GeneratorDone } from '../generator.js';
import { AMQP_URL, BENCH_EXCHANGE, KAFKA_BROKERS, KafkaAdmin } from '../lib/brokers.js';
import { loadDataset, makePlan, type Plan } from '../lib/data.js';
import { freePort, machineCpu, sleep } from '../lib/gateway.js';
import { nowMs, startChild, type Child } from '../lib/ipc.js';
import type { GatewayScenario } from '../lib/scenarios.js';
import { busyPercent } from '../runs/ceilings.js';
import { runGateway } from '../runs/gateway.js';
import { MB, createResources, generatorFigures, probesFor, removeResources, round, startGenerator, verifyAll, waitForBrokers, type Ctx, type Resources } from '../runs/shared.js';
import { rpconnectAmqpConfig, rpconnectConfigText, rpconnectKafkaConfig, rsyslogConfig, type PeerAddressing } from './configs.js';
import type { FrameConsumerDone, FrameConsumerJob } from './frame-consumer.js';
import { PeerProcess } from './peer-process.js';
import type { PeerRunResult, PeerScenario } from './results.js';

const DATASET = 'ncsa';

/** The peers' executables (scripts/peers.sh env); empty: not installed. */
export interface PeerBinaries {
  rpconnect: string;
  rsyslogd: string;
}

function skeleton(s: PeerScenario, roundNo: number, plan: Plan): PeerRunResult {
  return {
    id: s.id,
    round: roundNo,
    tool: s.tool,
    sink: s.sink,
    title: s.title,
    records: plan.records,
    jsonBytes: plan.jsonBytes,
    brokerMessages: s.tool === 'rsyslog' ? 2 * plan.records : plan.records,
  };
}

/**
 * The main-suite scenario of the gateway with its defaults, as ncsa-platformatic / ncsa-amqp. The
 * client is named: a gateway scenario without one measures kafkajs (the main suite's ncsa-kafka).
 */
export function gatewayPeerScenario(s: PeerScenario): GatewayScenario {
  return {
    id: s.id,
    kind: 'gateway',
    dataset: DATASET,
    title: s.title,
    sinks: [s.sink],
    mode: 'max',
    ceilings: [],
    kafkaClient: defaultKafkaOptions().client,
  };
}

/** The gateway with its defaults. */
export async function runGatewayPeer(ctx: Ctx, s: PeerScenario, roundNo: number, records: number): Promise<PeerRunResult> {
  const scenario = gatewayPeerScenario(s);
  const g = await runGateway(ctx, scenario, { rate: 0, records, name: `${s.id}-${roundNo}` });
  const d = loadDataset(DATASET);
  const res = skeleton(s, roundNo, makePlan(d, records));
  const v = g.verification[0];
  return {
    ...res,
    ...(g.seconds !== undefined ? { seconds: g.seconds } : {}),
    ...(g.recordsPerSec !== undefined ? { recordsPerSec: g.recordsPerSec } : {}),
    ...(g.mbPerSec !== undefined ? { mbPerSec: g.mbPerSec } : {}),
    ...(g.gatewayCpuSeconds !== undefined ? { cpuSeconds: g.gatewayCpuSeconds } : {}),
    // CPU seconds per million records are CPU microseconds per record.
    ...(g.cpuSecondsPerMillion !== undefined ? { cpuMicrosPerRecord: g.cpuSecondsPerMillion } : {}),
    ...(g.gatewayCores !== undefined ? { cores: g.gatewayCores } : {}),
    ...(g.peakRssMB !== undefined ? { peakRssMB: g.peakRssMB } : {}),
    ...(g.generator ? { generator: g.generator } : {}),
    ...(g.machineBusyPercent !== undefined ? { machineBusyPercent: g.machineBusyPercent } : {}),
    ...(v ? { verification: v } : {}),
  };
}

/** rsyslog writes every frame to one topic; a run's topic. */
const framesTopic = (prefix: string): string => `${prefix}-frames`;

async function kafkaAdmin(ctx: Ctx): Promise<KafkaAdmin> {
  ctx.kafka ??= await KafkaAdmin.connect();
  return ctx.kafka;
}

function startPeer(s: PeerScenario, bins: PeerBinaries, a: PeerAddressing, dir: string, topic: string): PeerProcess {
  if (s.tool === 'redpanda-connect') {
    if (!bins.rpconnect) throw new Error('Redpanda Connect is not built: run `bash scripts/peers.sh`');
    const file = join(dir, 'rpconnect.yaml');
    writeFileSync(file, rpconnectConfigText(s.sink === 'kafka' ? rpconnectKafkaConfig(a) : rpconnectAmqpConfig(a)));
    return new PeerProcess({ name: 'rpconnect', command: bins.rpconnect, args: ['run', file], logFile: join(dir, 'rpconnect.log') });
  }
  if (!bins.rsyslogd) throw new Error('rsyslog with imczmq and omkafka is not installed: run `bash scripts/peers.sh`');
  const port = Number(new URL(a.endpoint.replace('tcp://', 'http://')).port);
  const file = join(dir, 'rsyslog.conf');
  writeFileSync(file, rsyslogConfig(port, topic, dir));
  // -n: stay in the foreground; -i: a pid file of its own (never the system syslog's).
  return new PeerProcess({ name: 'rsyslogd', command: bins.rsyslogd, args: ['-n', '-f', file, '-i', join(dir, 'rsyslogd.pid')], logFile: join(dir, 'rsyslogd.log') });
}

/** Redpanda Connect's /ready answers 200 once its input and output are connected. */
async function rpconnectReady(httpPort: number): Promise<boolean> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/ready`);
  await r.text();
  return r.status === 200;
}

async function verifyFrames(ctx: Ctx, records: number, topic: string): Promise<FrameConsumerDone> {
  const c: Child = startChild('peers/frame-consumer', 'frame-consumer');
  try {
    const job: FrameConsumerJob = { dataset: DATASET, records, topic, idleTimeoutMs: Math.max(20_000, ctx.o.stallSeconds * 1000) };
    c.send({ type: 'start', job: job as unknown as Record<string, unknown> });
    await c.next('consuming', 120_000);
    return await c.next<FrameConsumerDone & { [k: string]: unknown }>('done');
  } finally {
    await c.stop();
  }
}

/** A peer between the generator and the broker, measured from /proc. */
export async function runPeerProcess(ctx: Ctx, s: PeerScenario, roundNo: number, records: number, bins: PeerBinaries): Promise<PeerRunResult> {
  const d = loadDataset(DATASET);
  const plan = makePlan(d, records);
  const res = skeleton(s, roundNo, plan);
  const name = `${s.id}-${roundNo}`;
  let r: Resources;
  if (s.tool === 'rsyslog') {
    const prefix = `${ctx.run}-${++ctx.seq}-${name}`;
    r = { prefix, topics: [framesTopic(prefix)], ndjson: false };
    await (await kafkaAdmin(ctx)).createTopics(r.topics);
  } else {
    r = await createResources(ctx, name, plan, [s.sink]);
  }
  const dir = mkdtempSync(join(ctx.tmp, `${name}-`));
  const a: PeerAddressing = {
    endpoint: `tcp://127.0.0.1:${await freePort()}`,
    httpPort: await freePort(),
    kafkaBrokers: KAFKA_BROKERS,
    topicPrefix: r.prefix,
    amqpUrl: AMQP_URL,
    exchange: BENCH_EXCHANGE,
    routingKeyPrefix: r.prefix,
  };
  const peer = startPeer(s, bins, a, dir, r.topics[0] ?? '');
  let gen: Child | undefined;
  try {
    if (s.tool === 'redpanda-connect') await peer.until(() => rpconnectReady(a.httpPort), 'ready (/ready)');
    // The generator waits for the peer's subscription before it counts as ready.
    gen = await startGenerator({ dataset: DATASET, socket: 'pub', endpoint: a.endpoint, records: plan.records, rate: 0 });
    const cpu0 = peer.cpuSeconds();
    const machine0 = machineCpu();
    gen.send({ type: 'go' });
    const sent = gen.next<GeneratorDone>('done');
    const target = res.brokerMessages;
    const probes =
      s.tool === 'rsyslog'
        ? new Map([
            [
              'kafka' as const,
              async () => {
                const n = await (await kafkaAdmin(ctx)).count(r.topics);
                return n >= target ? { records: n, doneAt: nowMs() } : { records: n };
              },
            ],
          ])
        : probesFor(ctx, r, [s.sink], plan.records);
    const doneAt = await waitForBrokers(ctx, probes, target, name, [gen, peer]);
    const gd = await sent;
    const cpu = peer.cpuSeconds() - cpu0;
    res.machineBusyPercent = busyPercent(machine0);
    res.peakRssMB = round(peer.peakRssBytes() / MB, 1);
    const end = doneAt[s.sink] as number;
    const seconds = (end - gd.startMs) / 1000;
    res.seconds = round(seconds, 3);
    res.recordsPerSec = Math.round(plan.records / seconds);
    res.mbPerSec = round(plan.jsonBytes / MB / seconds, 2);
    res.cpuSeconds = round(cpu, 3);
    res.cpuMicrosPerRecord = round((cpu / plan.records) * 1e6, 2);
    res.cores = round(cpu / seconds, 2);
    res.generator = generatorFigures(gd);
    await gen.stop();
    gen = undefined;
    await peer.stop();
    if (s.tool === 'rsyslog') {
      const { type: _type, timedOut: _timedOut, ...frames } = await verifyFrames(ctx, plan.records, r.topics[0] as string);
      res.frames = frames;
    } else {
      res.verification = (await verifyAll(ctx, DATASET, plan.records, r, [s.sink]))[0];
    }
  } finally {
    await gen?.stop();
    await peer.stop();
    await removeResources(ctx, r);
    await sleep(200);
  }
  return res;
}
