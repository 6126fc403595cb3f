// The NDJSON wrapper's logic, against a fake transport (broker behaviour: integration tests).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { OutboundMessage } from '../../../../src/record.js';
import { NDJSON_MAX_BYTES, ndjsonGroups, withNdjson } from '../../../../src/sinks/shared/ndjson.js';
import type { SendResult, Transport } from '../../../../src/sinks/transport.js';
import { record } from '../../../helpers/records.js';

function msg(payload: string, target = 't', path = 'conn', extra?: { sender?: string; key?: string; headers?: Record<string, string> }): OutboundMessage {
  return {
    record: record(path, payload, extra?.sender),
    payload: Buffer.from(payload),
    address: { target, key: extra?.key === undefined ? undefined : Buffer.from(extra.key) },
    headers: extra?.headers,
  };
}

/** Records what it was sent; refuses messages the test picks. */
class FakeTransport implements Transport {
  onStateChange?: ((connected: boolean) => void) | undefined;
  sent: OutboundMessage[][] = [];
  constructor(private readonly refuse: (m: OutboundMessage) => string | undefined = () => undefined) {}
  async start(): Promise<void> {}
  isConnected(): boolean {
    return true;
  }
  async close(): Promise<void> {}
  async send(batch: readonly OutboundMessage[]): Promise<SendResult> {
    this.sent.push([...batch]);
    const rejected = batch.flatMap((message) => {
      const reason = this.refuse(message);
      return reason === undefined ? [] : [{ message, reason }];
    });
    return rejected.length > 0 ? { rejected } : {};
  }
}

const lines = (m: OutboundMessage) => m.payload.toString().split('\n').slice(0, -1);

describe('NDJSON wrapper', () => {
  it('one record per message (recordsPerMessage 0 or 1) leaves the transport unwrapped', () => {
    const t = new FakeTransport();
    assert.equal(withNdjson(t, 1), t);
    assert.equal(withNdjson(t, 0), t);
    assert.notEqual(withNdjson(t, 2), t);
  });

  it('groups by target, key, path and sender in batch order, at most recordsPerMessage each; dead letters go alone', () => {
    const batch = [
      msg('a0'),
      msg('a1'),
      msg('b0', 'u'), // another target
      msg('c0', 't', 'dns'), // another path
      msg('d0', 't', 'conn', { sender: 'w2' }), // another sender
      msg('e0', 't', 'conn', { key: 'K' }), // another key
      msg('e1', 't', 'conn', { key: 'K' }), // the same key, another Buffer
      msg('a2'),
      msg('dead', 't', 'conn', { headers: { 'zeek-dead-letter-reason': 'x' } }),
      msg('a3'),
    ];
    const groups = ndjsonGroups(batch, batch.map((_, i) => i), 3);
    assert.deepEqual(groups.map((g) => g.indices), [[0, 1, 7], [2], [3], [4], [5, 6], [8], [9]]);
    assert.deepEqual(groups.map((g) => g.bytes), [9, 3, 3, 3, 6, 5, 3], 'body sizes, a newline per record');
  });

  it(`closes a message before it would pass ${NDJSON_MAX_BYTES} bytes`, () => {
    const big = 'x'.repeat(NDJSON_MAX_BYTES / 2 - 1); // with its newline, exactly half
    const batch = [msg(big), msg(big), msg(big), msg('small')];
    assert.deepEqual(ndjsonGroups(batch, [0, 1, 2, 3], 100).map((g) => g.indices), [[0, 1], [2, 3]]);
  });

  it('sends NDJSON bodies with a zeek-records header; a dead letter keeps its headers', async () => {
    const fake = new FakeTransport();
    const t = withNdjson(fake, 100);
    const dead = msg('{"d":1}', 't', 'conn', { headers: { 'zeek-dead-letter-reason': 'x' } });
    assert.deepEqual(await t.send([msg('{"n":1}'), msg('{"n":2}'), dead]), {});
    const sent = fake.sent[0] ?? [];
    assert.deepEqual(sent.map((m) => m.payload.toString()), ['{"n":1}\n{"n":2}\n', '{"d":1}\n']);
    assert.deepEqual(sent.map((m) => m.headers), [{ 'zeek-records': '2' }, { 'zeek-dead-letter-reason': 'x', 'zeek-records': '1' }]);
  });

  it('refuses a record holding a raw newline and sends the rest', async () => {
    const fake = new FakeTransport();
    const bad = msg('{"a":\n1}');
    const r = await withNdjson(fake, 100).send([msg('{"n":1}'), bad, msg('{"n":2}')]);
    assert.deepEqual(r.rejected, [{ message: bad, reason: 'newline_in_record' }]);
    assert.deepEqual(fake.sent.flat().flatMap(lines), ['{"n":1}', '{"n":2}']);
  });

  it('maps a refused message back to every record it carried', async () => {
    const fake = new FakeTransport((m) => (m.address.target === 'gone' ? 'invalid_topic' : undefined));
    const batch = [msg('1', 'gone'), msg('2'), msg('3', 'gone')];
    const r = await withNdjson(fake, 100).send(batch);
    assert.deepEqual(r.rejected?.map((x) => [x.message, x.reason]), [
      [batch[0], 'invalid_topic'],
      [batch[2], 'invalid_topic'],
    ]);
    assert.equal(fake.sent.length, 1, 'no second attempt for a refusal that is not about size');
  });

  it('a message refused for its size goes again record by record; only records too large alone stay refused', async () => {
    // The "broker" refuses messages over 20 bytes.
    const fake = new FakeTransport((m) => (m.payload.length > 20 ? 'message_too_large' : undefined));
    const big = msg(`{"big":"${'x'.repeat(30)}"}`);
    const batch = [msg('{"n":1}'), msg('{"n":2}'), big, msg('{"n":3}')];
    const r = await withNdjson(fake, 100).send(batch);
    assert.deepEqual(r.rejected?.map((x) => [x.message, x.reason]), [[big, 'message_too_large']]);
    assert.equal(fake.sent.length, 2);
    assert.deepEqual(fake.sent[1]?.map((m) => [m.payload.toString(), m.headers?.['zeek-records']]), [
      ['{"n":1}\n', '1'],
      ['{"n":2}\n', '1'],
      [`${big.payload.toString()}\n`, '1'],
      ['{"n":3}\n', '1'],
    ]);
  });

  it('passes connection state and its changes through', async () => {
    const fake = new FakeTransport();
    const t = withNdjson(fake, 10);
    const seen: boolean[] = [];
    t.onStateChange = (up) => seen.push(up);
    fake.onStateChange?.(false);
    assert.deepEqual(seen, [false]);
    assert.equal(t.isConnected(), true);
  });
});
