// The client-neutral logic for Kafka topics that do not exist: bounded wait, refusal, cache, re-check.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KnownTopics, UnknownTopics } from '../../../../src/sinks/kafka/topics.js';
import type { OutboundMessage } from '../../../../src/record.js';
import { RateLimitedLog, silentLogger } from '../../../../src/ops/log.js';
import { record } from '../../../helpers/records.js';

const msg = (topic: string, n: number): OutboundMessage => ({
  record: record('conn', `{"n":${n}}`),
  payload: Buffer.from(`{"n":${n}}`),
  address: { target: topic },
});

/** A cluster stand-in: the topics it has, and the lookups asked of it. */
function cluster(...topics: string[]) {
  const have = new Set(topics);
  const lookups: string[] = [];
  return { have, lookups, lookup: async (t: string) => (lookups.push(t), have.has(t)) };
}

function unknownTopics(c: ReturnType<typeof cluster>, waitMs: number, recheckMs = 5_000): UnknownTopics {
  return new UnknownTopics({ waitMs, recheckMs, pollMs: 10, lookup: c.lookup, log: new RateLimitedLog(silentLogger()) });
}

describe('unknown Kafka topics', () => {
  it('passes every record while no topic is known missing, without a lookup', async () => {
    const c = cluster('a');
    const u = unknownTopics(c, 100);
    const batch = [msg('a', 1), msg('b', 2)];
    const { sendable, refused } = await u.screen(batch);
    assert.deepEqual([sendable, refused], [batch, []]);
    assert.deepEqual(c.lookups, []);
  });

  it('waits the bounded time for a missing topic, then refuses it; later batches are refused at once', async () => {
    const c = cluster('a');
    const u = unknownTopics(c, 400);
    let resends = 0;
    const t0 = Date.now();
    assert.equal(await u.deliverWhenKnown('b', t0, async () => (resends++, true)), false);
    const waited = Date.now() - t0;
    assert.ok(waited >= 390 && waited < 3000, `waited ${waited} ms`);
    assert.equal(resends, 0, 'never resent while the topic is missing');
    assert.ok(c.lookups.length >= 2, `looked up while waiting (${c.lookups.length})`);

    const looked = c.lookups.length;
    const t1 = Date.now();
    const { sendable, refused } = await u.screen([msg('a', 1), msg('b', 2), msg('a', 3), msg('b', 4)]);
    assert.ok(Date.now() - t1 < 200, 'refused without a new wait');
    assert.deepEqual(sendable.map((m) => m.payload.toString()), ['{"n":1}', '{"n":3}']);
    assert.deepEqual(refused.map((m) => m.payload.toString()), ['{"n":2}', '{"n":4}']);
    assert.equal(c.lookups.length, looked, 'no lookup before the re-check is due');
  });

  it('the wait counts from when the send began: a report after the wait refuses at once', async () => {
    const c = cluster();
    const u = unknownTopics(c, 400);
    const t0 = Date.now();
    assert.equal(await u.deliverWhenKnown('b', t0 - 500, async () => true), false);
    assert.ok(Date.now() - t0 < 200);
  });

  it('delivers the records of a topic that appears during the wait', async () => {
    const c = cluster();
    const u = unknownTopics(c, 5_000);
    setTimeout(() => c.have.add('b'), 100);
    let resends = 0;
    const t0 = Date.now();
    assert.equal(await u.deliverWhenKnown('b', t0, async () => (resends++, true)), true);
    assert.ok(Date.now() - t0 < 3_000, 'stopped waiting once the topic was there');
    assert.equal(resends, 1);
    const batch = [msg('b', 1)];
    assert.deepEqual((await u.screen(batch)).sendable, batch, 'no longer missing');
  });

  it('keeps waiting when the resend finds the topic missing again', async () => {
    const c = cluster('b');
    const u = unknownTopics(c, 400);
    let resends = 0;
    assert.equal(await u.deliverWhenKnown('b', Date.now(), async () => (resends++, false)), false);
    assert.ok(resends >= 2, `resent ${resends} times`);
  });

  it('re-checks a refused topic once the re-check is due; created meanwhile, it flows again', async () => {
    const c = cluster();
    const u = unknownTopics(c, 0, 400);
    assert.equal(await u.deliverWhenKnown('b', Date.now(), async () => true), false);
    assert.equal((await u.screen([msg('b', 1)])).refused.length, 1);
    await new Promise((r) => setTimeout(r, 450));
    assert.equal((await u.screen([msg('b', 2)])).refused.length, 1, 'still missing at the re-check');
    c.have.add('b');
    assert.equal((await u.screen([msg('b', 3)])).refused.length, 1, 'the next re-check is not due yet');
    await new Promise((r) => setTimeout(r, 450));
    const batch = [msg('b', 4), msg('b', 5)];
    assert.deepEqual(await u.screen(batch), { sendable: batch, refused: [], waiting: [] });
    assert.deepEqual(c.lookups, ['b', 'b'], 'one lookup per due re-check, not one per record');
  });

  it('a refused topic reported missing again gets one look, not a new wait', async () => {
    const c = cluster();
    const u = unknownTopics(c, 400);
    assert.equal(await u.deliverWhenKnown('b', Date.now(), async () => true), false);
    const t0 = Date.now();
    assert.equal(await u.deliverWhenKnown('b', Date.now(), async () => true), false);
    assert.ok(Date.now() - t0 < 200);
  });

  it('a lookup that fails counts as missing, and the wait stays bounded', async () => {
    const u = new UnknownTopics({
      waitMs: 100,
      pollMs: 10,
      lookup: async () => Promise.reject(new Error('cluster unreachable')),
      log: new RateLimitedLog(silentLogger()),
    });
    const t0 = Date.now();
    assert.equal(await u.deliverWhenKnown('b', t0, async () => true), false);
    assert.ok(Date.now() - t0 < 3_000);
  });

  it('records of a topic being waited for join the wait instead of being sent', async () => {
    const c = cluster('a');
    const u = unknownTopics(c, 5_000);
    const wait = u.deliverMissing([msg('b', 1)], Date.now(), async (records) => ({ rejected: [], missing: c.have.has('b') ? [] : records }));
    const { sendable, refused, waiting } = await u.screen([msg('a', 2), msg('b', 3), msg('a', 4)]);
    assert.deepEqual(sendable.map((m) => m.payload.toString()), ['{"n":2}', '{"n":4}']);
    assert.deepEqual(refused, []);
    assert.deepEqual(waiting.map((m) => m.payload.toString()), ['{"n":3}']);
    c.have.add('b');
    assert.deepEqual(await wait, []);
  });

  it('batches waiting for one topic deliver in their order once it exists', async () => {
    const c = cluster();
    const u = unknownTopics(c, 5_000);
    const sent: string[] = [];
    const send = async (records: OutboundMessage[]) => {
      if (!c.have.has('b')) return { rejected: [], missing: records };
      // A later batch's send that answered sooner must still not overtake.
      await new Promise((r) => setTimeout(r, 20 - records.length));
      sent.push(...records.map((m) => m.payload.toString()));
      return { rejected: [], missing: [] };
    };
    const t0 = Date.now();
    const waits = [u.deliverMissing([msg('b', 1), msg('b', 2)], t0, send), u.deliverMissing([msg('b', 3)], t0, send), u.deliverMissing([msg('b', 4)], t0, send)];
    setTimeout(() => c.have.add('b'), 100);
    assert.deepEqual(await Promise.all(waits), [[], [], []]);
    assert.deepEqual(sent, ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
    assert.ok(Date.now() - t0 < 2_000, 'the later batches went as soon as the first found the topic');
  });

  it('when an earlier batch for a topic fails, the later ones fail too rather than overtake it', async () => {
    const c = cluster();
    const u = unknownTopics(c, 5_000);
    let calls = 0;
    const send = async (records: OutboundMessage[]) => {
      if (!c.have.has('b')) return { rejected: [], missing: records };
      if (++calls === 1) throw new Error('broker unavailable');
      return { rejected: [], missing: [] };
    };
    const t0 = Date.now();
    const first = u.deliverMissing([msg('b', 1)], t0, send);
    const second = u.deliverMissing([msg('b', 2)], t0, send);
    c.have.add('b');
    await assert.rejects(first, /broker unavailable/);
    await assert.rejects(second, /earlier batch for topic b/);
    assert.equal(calls, 1, 'the later batch was not sent ahead of the failed one');
    // Once both have settled, the topic starts afresh: their retries go through.
    assert.deepEqual(await u.deliverMissing([msg('b', 1), msg('b', 2)], Date.now(), send), []);
  });
});

describe('known Kafka topics', () => {
  const payloads = (ms: OutboundMessage[]) => ms.map((m) => m.payload.toString());

  it('splits off the records of topics not written to yet, per topic and in order; a batch of known topics stays whole', () => {
    const k = new KnownTopics();
    const batch = [msg('a', 1), msg('b', 2), msg('c', 3), msg('b', 4), msg('a', 5)];
    const first = k.split(batch);
    assert.deepEqual([...first.fresh.keys()], ['a', 'b', 'c']);
    assert.deepEqual(payloads(first.fresh.get('b') ?? []), ['{"n":2}', '{"n":4}']);
    assert.deepEqual(first.known, []);
    k.written('a');
    k.written('c');
    const second = k.split(batch);
    assert.deepEqual([...second.fresh.keys()], ['b']);
    assert.deepEqual(payloads(second.known), ['{"n":1}', '{"n":3}', '{"n":5}']);
    k.written('b');
    const third = k.split(batch);
    assert.equal(third.known, batch, 'the batch itself, not a copy');
    assert.equal(third.fresh.size, 0);
    k.forget('c');
    assert.deepEqual([...k.split(batch).fresh.keys()], ['c']);
  });

  it('holds a bounded number of topics, the oldest making room', () => {
    const k = new KnownTopics();
    const many = Array.from({ length: 10_001 }, (_, i) => `t${i}`);
    for (const topic of many) k.written(topic);
    assert.deepEqual([...k.split([msg('t0', 0), msg('t1', 1), msg('t10000', 2)]).fresh.keys()], ['t0']);
  });
});
