// Console transport: lines out, acknowledged on the write callback, backpressure honoured.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import convict from 'convict';
import { ConsoleTransport, consoleSchema, defaultConsoleOptions } from '../../../../src/sinks/console/transport.js';
import { silentLogger } from '../../../../src/ops/log.js';
import { message, sleep } from '../../../helpers/records.js';

const ctx = { name: 'console', logger: silentLogger() };

/** A stream that holds each write until release() is called. */
class SlowStream extends Writable {
  readonly chunks: string[] = [];
  private pending: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 8 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    this.pending.push(() => cb());
  }
  release(): void {
    const p = this.pending;
    this.pending = [];
    for (const f of p) f();
  }
}

describe('console transport', () => {
  it('has a schema with file defaulting to stdout', () => {
    const c = convict(consoleSchema);
    c.validate({ allowed: 'strict' });
    assert.deepEqual(defaultConsoleOptions(), { file: '' });
  });

  it('writes payload + newline and acknowledges only when the write completed', async () => {
    const out = new SlowStream();
    const t = new ConsoleTransport({ file: '' }, ctx, out);
    await t.start();
    assert.equal(t.isConnected(), true);
    let done = false;
    const p = t.send([message('conn', '{"a":1}'), message('dns', '{"b":2}')]).then((r) => {
      done = true;
      return r;
    });
    await sleep(10);
    assert.equal(done, false);
    assert.deepEqual(out.chunks, ['{"a":1}\n{"b":2}\n']);
    out.release();
    assert.deepEqual(await p, {});
  });

  it('waits for drain before writing more when the stream is full', async () => {
    const out = new SlowStream();
    const t = new ConsoleTransport({ file: '' }, ctx, out);
    await t.start();
    const first = t.send([message('conn', '{"a":"0123456789"}')]);
    const second = t.send([message('conn', '{"b":1}')]);
    await sleep(10);
    assert.equal(out.chunks.length, 1, 'the second batch waits for drain');
    out.release();
    await first;
    await sleep(10);
    assert.equal(out.chunks.length, 2);
    out.release();
    await second;
  });

  it('appends to a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'zlg-console-')), 'out.ndjson');
    for (const line of ['{"n":1}', '{"n":2}']) {
      const t = new ConsoleTransport({ file }, ctx);
      await t.start();
      await t.send([message('conn', line)]);
      await t.close();
    }
    assert.equal(readFileSync(file, 'utf8'), '{"n":1}\n{"n":2}\n');
  });

  it('fails start() on a path it cannot open, and send() once the stream broke', async () => {
    await assert.rejects(new ConsoleTransport({ file: '/nonexistent-dir/x/out' }, ctx).start());
    const broken = new Writable({
      write(_c, _e, cb) {
        cb(new Error('EPIPE'));
      },
    });
    const t = new ConsoleTransport({ file: '' }, ctx, broken);
    const states: boolean[] = [];
    t.onStateChange = (up) => states.push(up);
    await t.start();
    await assert.rejects(t.send([message('conn', '{}')]), /EPIPE/);
    await sleep(5);
    assert.equal(t.isConnected(), false);
    await assert.rejects(t.send([message('conn', '{}')]), /EPIPE/);
    assert.deepEqual(states, [true, false]);
  });
});
