// The contract every sink transport keeps (src/sinks/transport.ts), run against the real broker.
// One file per transport calls runTransportContract with a ContractSubject that knows how to build
// the transport, make a fresh destination, read it back, and break the transport's connection.
// Cases a kind cannot have (a console has no broker to be down) are left out by its subject.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Address, OutboundMessage } from '../../src/record.js';
import type { SendResult, Transport } from '../../src/sinks/transport.js';
import { record, sleep, until } from '../helpers/records.js';

/** A place on the broker the test owns: a queue bound to an exchange, a topic, a file. */
export interface ContractDestination {
  /** Where records for this destination are sent. */
  readonly address: Address;
  /** The payloads that arrived, in arrival order; resolves once `count` arrived (fails after timeoutMs). */
  read(count: number, timeoutMs?: number): Promise<string[]>;
}

export interface TransportSettings {
  /** The sink name: it names the connection where the broker shows one. */
  name: string;
  /** Point the transport at an address where nothing listens. */
  unreachable?: boolean;
  failFast?: boolean;
}

export interface ContractSubject {
  /** Builds the transport as the sink registry does, with short test timeouts. */
  create(settings: TransportSettings): Transport;
  /** A fresh destination (declared or created on the broker). */
  destination(): Promise<ContractDestination>;
  /**
   * A destination and a batch for it of which the broker refuses some records for good, with
   * the [payload, reason] of each refused record. Absent: the kind refuses nothing.
   */
  refusal?(): Promise<{ dest: ContractDestination; batch: OutboundMessage[]; refused: Array<[string, string]> }>;
  /**
   * Breaks the transport's connection from the broker's side (or stops the broker) and
   * resolves once it is broken; `restore` brings the broker back if it had to be stopped.
   * Absent: the kind has no connection (console).
   */
  breakConnection?(name: string): Promise<{ restore(): Promise<void> }>;
  /** Longest a send may take to settle once the connection broke. */
  readonly settleBoundMs?: number;
  /** The kind has a broker that can be down (start while unreachable, failFast). */
  readonly hasBroker: boolean;
}

let names = 0;

/** `count` records of ~`size` bytes for `dest`, numbered from `first`. */
export function contractBatch(dest: ContractDestination, count: number, first = 0, size = 100): OutboundMessage[] {
  const pad = 'z'.repeat(Math.max(0, size - 30));
  return Array.from({ length: count }, (_, i) => {
    const payload = `{"conn":{"n":${first + i},"pad":"${pad}"}}`;
    return { record: record('conn', payload, 'worker-1'), payload: Buffer.from(payload), address: dest.address };
  });
}

const payloads = (batch: readonly OutboundMessage[]): string[] => batch.map((m) => m.payload.toString());

export function runTransportContract(name: string, subject: ContractSubject): void {
  describe(`transport contract: ${name}`, () => {
    const open: Transport[] = [];
    const make = (settings: Partial<TransportSettings> = {}): Transport => {
      const t = subject.create({ name: `contract-${name}-${process.pid}-${++names}`, ...settings });
      open.push(t);
      return t;
    };
    const started = async (settings: Partial<TransportSettings> = {}): Promise<Transport> => {
      const t = make(settings);
      await t.start();
      await until(() => t.isConnected(), 15_000, `${name} connected`);
      return t;
    };
    after(async () => {
      await Promise.all(open.map((t) => t.close().catch(() => undefined)));
    });

    if (subject.hasBroker) {
      it('start() resolves while the broker is unreachable; send() then rejects at once', async () => {
        const t = make({ unreachable: true });
        const t0 = Date.now();
        await t.start();
        assert.ok(Date.now() - t0 < 15_000, `start() took ${Date.now() - t0} ms`);
        assert.equal(t.isConnected(), false);
        const dest = await subject.destination();
        const t1 = Date.now();
        await assert.rejects(t.send(contractBatch(dest, 1)), /not connected/);
        assert.ok(Date.now() - t1 < 1000, 'rejects at once');
      });

      it('failFast: start() rejects when the broker is unreachable', async () => {
        const t = make({ unreachable: true, failFast: true });
        await assert.rejects(t.start(), /cannot connect/);
        assert.equal(t.isConnected(), false);
      });
    }

    it('send() resolves only once the broker has the records: all of them can be read back at once, in order', async () => {
      const t = await started();
      const dest = await subject.destination();
      const batch = contractBatch(dest, 500);
      assert.deepEqual(await t.send(batch), {});
      assert.deepEqual(await dest.read(batch.length, 10_000), payloads(batch));
      assert.deepEqual(await t.send([]), {}, 'an empty batch resolves');
    });

    if (subject.refusal) {
      const refusal = subject.refusal.bind(subject);
      it('refusals for good are reported per record; the other records are delivered', async () => {
        const t = await started();
        const { dest, batch, refused } = await refusal();
        const r = await t.send(batch);
        assert.deepEqual(
          (r.rejected ?? []).map((x) => [x.message.payload.toString(), x.reason]).sort(),
          [...refused].sort(),
        );
        const refusedPayloads = new Set(refused.map(([p]) => p));
        const good = payloads(batch).filter((p) => !refusedPayloads.has(p));
        assert.deepEqual(await dest.read(good.length, 10_000), good);
      });
    }

    it('several batches in flight at once, beyond the socket buffers, arrive whole and in order', async () => {
      const t = await started();
      const dest = await subject.destination();
      // 12 batches of 1,000 records of 300 bytes sent without waiting: 3.6 MB, beyond the socket
      // buffers and amqplib's 1,024-frame channel buffer, so writes wait for drains.
      const batches = Array.from({ length: 12 }, (_, b) => contractBatch(dest, 1000, b * 1000, 300));
      const results = await Promise.all(batches.map((b) => t.send(b)));
      assert.deepEqual(results, batches.map(() => ({})));
      const got = await dest.read(12_000, 60_000);
      assert.equal(got.length, 12_000);
      const expected = batches.flatMap(payloads);
      const first = got.findIndex((p, i) => p !== expected[i]);
      assert.equal(first, -1, `record ${first} out of order: ${got[first]?.slice(0, 40)} instead of ${expected[first]?.slice(0, 40)}`);
    });

    if (subject.breakConnection) {
      const breakConnection = subject.breakConnection.bind(subject);
      const bound = subject.settleBoundMs ?? 15_000;
      it(`every send settles within ${bound} ms while the connection breaks; sending works again after`, async (ctx) => {
        const connName = `contract-${name}-${process.pid}-${++names}`;
        const t = subject.create({ name: connName });
        open.push(t);
        const states: boolean[] = [];
        t.onStateChange = (up) => states.push(up);
        await t.start();
        await until(() => t.isConnected(), 15_000, 'connected');
        const dest = await subject.destination();
        let broken: { restore(): Promise<void> } | undefined;
        // Sends one after another until the break has landed, each timed from its start.
        let stop = false;
        const outcomes: Array<{ ms: number; outcome: string }> = [];
        const sending = (async () => {
          for (let n = 0; !stop && n < 500; n++) {
            const t0 = Date.now();
            const outcome = await Promise.race([
              t.send(contractBatch(dest, 1000, n * 1000)).then(
                () => 'delivered',
                (e: Error) => e.message,
              ),
              sleep(bound + 5000).then(() => 'still pending'),
            ]);
            outcomes.push({ ms: Date.now() - t0, outcome });
            if (outcome !== 'delivered') await sleep(20);
          }
        })();
        try {
          await sleep(300);
          broken = await breakConnection(connName);
          // A little more sending while the transport reconnects (or the broker is away).
          await sleep(1000);
        } finally {
          stop = true;
          await sending;
          await broken?.restore();
        }
        const failed = outcomes.filter((o) => o.outcome !== 'delivered');
        const slowest = Math.max(...outcomes.map((o) => o.ms));
        ctx.diagnostic(`${outcomes.length} sends, ${failed.length} failed (first: ${failed[0]?.outcome}); slowest ${slowest} ms`);
        assert.ok(failed.length > 0, 'the break made sends fail');
        assert.ok(slowest <= bound, `a send took ${slowest} ms`);
        await until(() => t.isConnected(), 60_000, 'reconnected');
        assert.ok(states.includes(false) && states.at(-1) === true, `reported down, then up again: ${states.join(',')}`);
        const again = contractBatch(dest, 3, 1_000_000);
        let result: SendResult | undefined;
        for (let i = 0; i < 20 && result === undefined; i++) {
          // A broker just back may still be electing leaders; the sink would retry likewise.
          result = await t.send(again).catch(async () => {
            await sleep(500);
            return undefined;
          });
        }
        assert.deepEqual(result, {}, 'sends again after the break');
      });
    }

    it('close() is idempotent and a send after it rejects', async () => {
      const t = await started();
      await t.close();
      await t.close();
      // No destination is made: the broker may still be settling after the previous case.
      const nowhere: ContractDestination = { address: { target: 'zlg-contract-closed', routingKey: 'conn' }, read: async () => [] };
      await assert.rejects(t.send(contractBatch(nowhere, 1)));
    });
  });
}
