// The ceilings: a bare zeromq.js receive loop, and bare broker clients publishing the same records.
import type { GeneratorDone } from '../generator.js';
import type { AmqpPublisherJob } from '../amqp-publisher.js';
import type { KafkaProducerJob } from '../kafka-producer.js';
import type { CeilingDone } from '../lib/ceiling-client.js';
import { bufferSchema } from '../../src/buffer/index.js';
import { AMQP_URL, BENCH_EXCHANGE } from '../lib/brokers.js';
import { loadDataset, makePlan, type Plan } from '../lib/data.js';
import { freePort, machineCpu } from '../lib/gateway.js';
import { startChild, type Msg } from '../lib/ipc.js';
import { type ScenarioResult } from '../lib/results.js';
import { type Scenario, type SinkKind } from '../lib/scenarios.js';
import { Ctx, recordsFor, Resources, createResources, removeResources, probesFor, waitForBrokers, verifyAll, startGenerator, generatorFigures, round, baseResult, setRate } from './shared.js';

// ---------------------------------------------------------------------------------------------
// Ceilings

export async function runIngress(ctx: Ctx, s: Scenario): Promise<ScenarioResult> {
  const d = loadDataset(s.dataset);
  const plan = makePlan(d, recordsFor(ctx, s.dataset));
  const res = baseResult(s, plan, 'max', []);
  const cluster = d.spec.kind === 'cluster';
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const sink = startChild('zmq-sink');
  try {
    sink.send({ type: 'listen', job: { socket: cluster ? 'pull' : 'sub', endpoint, messages: plan.sequence.length } });
    await sink.next('listening', 30_000);
    const gen = await startGenerator({ dataset: s.dataset, socket: cluster ? 'push' : 'pub', endpoint, records: plan.records, rate: 0 });
    const cpu0 = machineCpu();
    gen.send({ type: 'go' });
    const g = await gen.next<GeneratorDone>('done');
    const r = await sink.next<{ type: string; messages: number; lastMs: number; cpuSeconds: number }>('done');
    res.machineBusyPercent = busyPercent(cpu0);
    await gen.stop();
    setRate(res, plan, (r.lastMs - g.startMs) / 1000);
    res.generator = generatorFigures(g);
    res.clientCpuSeconds = round(r.cpuSeconds, 3);
    // The bare sink counts messages; they arrive in plan order, so the first r.messages carry these records.
    let received = 0;
    for (let i = 0; i < r.messages; i++) received += (d.records[plan.sequence[i] as number] as Buffer[]).length;
    const ok = r.messages === plan.sequence.length;
    res.verification.push({ sink: 'bare', received, lost: plan.records - received, duplicates: 0, foreign: 0, outOfOrder: 0, ok });
  } finally {
    await sink.stop();
  }
  return res;
}

export function busyPercent(before: { busy: number; total: number }): number {
  const after = machineCpu();
  return round((100 * (after.busy - before.busy)) / Math.max(1, after.total - before.total), 1);
}

/** The bare client of a broker ceiling (a bench/<script>.ts child) and its job. */
function ceilingClient(ctx: Ctx, s: Scenario, plan: Plan, r: Resources): { script: string; job: KafkaProducerJob | AmqpPublisherJob } {
  const base = { dataset: s.dataset, records: plan.records, prefix: r.prefix };
  if (s.kind !== 'kafka-ceiling') return { script: 'amqp-publisher', job: { ...base, url: AMQP_URL, exchange: BENCH_EXCHANGE, window: ctx.o.amqpWindow } };
  // Batches as the gateway's sinks cut them by default.
  const batchRecords = bufferSchema.batchMaxRecords.default;
  const batchBytes = bufferSchema.batchMaxBytes.default;
  const script = s.kafkaClient === 'platformatic' ? 'platformatic-producer' : 'kafka-producer';
  return { script, job: { ...base, batchRecords, batchBytes, inFlight: ctx.o.kafkaInFlight } };
}

export async function runBrokerCeiling(ctx: Ctx, s: Scenario): Promise<ScenarioResult> {
  const sink: SinkKind = s.kind === 'kafka-ceiling' ? 'kafka' : 'amqp';
  const d = loadDataset(s.dataset);
  const plan = makePlan(d, recordsFor(ctx, s.dataset));
  const res = baseResult(s, plan, 'max', [sink]);
  const r = await createResources(ctx, s.id, plan, [sink]);
  try {
    const { script, job } = ceilingClient(ctx, s, plan, r);
    const child = startChild(script);
    try {
      child.send({ type: 'prepare', job: job as unknown as Record<string, unknown> });
      await child.next('ready', 60_000);
      const cpu0 = machineCpu();
      child.send({ type: 'go' });
      const done = await waitForBrokers(ctx, probesFor(ctx, r, [sink], plan.records), plan.records, s.id, [child]);
      const c = await child.next<CeilingDone & Msg>('done', 60_000);
      res.machineBusyPercent = busyPercent(cpu0);
      setRate(res, plan, ((done[sink] as number) - c.startMs) / 1000);
      res.clientCpuSeconds = round(c.cpuSeconds, 3);
    } finally {
      await child.stop();
    }
    res.verification = await verifyAll(ctx, s.dataset, plan.records, r, [sink]);
  } finally {
    await removeResources(ctx, r);
  }
  return res;
}
