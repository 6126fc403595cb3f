// The pure-JS/WASM Kafka codecs: round trips and the LZ4 frame layout Kafka's reader needs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import {
  compressionType,
  lz4FrameCompress,
  lz4FrameDecompress,
  registerKafkaCodecs,
  zstdFrameCompress,
  zstdFrameDecompress,
} from '../../../../src/sinks/kafka/compression.js';

const { CompressionCodecs, CompressionTypes } = kafkajs;

function zeekLike(n: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({ ts: 1633952241.658421 + i, uid: randomBytes(9).toString('base64'), proto: 'tcp', n: i % 7 }));
  }
  return Buffer.from(lines.join('\n'));
}

const SAMPLES: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from('x')],
  ['zeek records over several blocks', zeekLike(5000)],
  ['incompressible', randomBytes(150_000)],
  ['exactly one block', zeekLike(2000).subarray(0, 65536)],
];

describe('lz4 codec', () => {
  for (const [name, data] of SAMPLES) {
    it(`round-trips ${name}`, () => {
      assert.ok(lz4FrameDecompress(lz4FrameCompress(data)).equals(data));
    });
  }

  it('writes a frame of independent 64 KiB blocks (the layout Kafka reads)', () => {
    const data = zeekLike(5000);
    const f = lz4FrameCompress(data);
    assert.equal(f.readUInt32LE(0), 0x184d2204);
    assert.equal(f[4], 0x60, 'version 1, independent blocks, no checksums, no content size');
    assert.equal(f[5], 0x40, '64 KiB maximum block size');
    let off = 7;
    let blocks = 0;
    for (;;) {
      const size = f.readUInt32LE(off) & 0x7fffffff;
      off += 4;
      if (size === 0) break;
      off += size;
      blocks++;
    }
    assert.equal(off, f.length);
    assert.equal(blocks, Math.ceil(data.length / 65536));
    assert.ok(f.length < data.length / 2, 'compresses');
  });

  it('stores incompressible blocks uncompressed', () => {
    const f = lz4FrameCompress(randomBytes(1000));
    assert.equal(f.readUInt32LE(7), (0x80000000 | 1000) >>> 0);
  });
});

describe('zstd codec', () => {
  for (const [name, data] of SAMPLES) {
    it(`round-trips ${name}`, async () => {
      assert.ok((await zstdFrameDecompress(await zstdFrameCompress(data))).equals(data));
    });
  }
});

describe('kafkajs registration', () => {
  it('registers snappy, lz4 and zstd codecs with kafkajs', async () => {
    registerKafkaCodecs();
    const data = zeekLike(300);
    for (const type of [CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]) {
      const codec = (CompressionCodecs as Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>)[type]!();
      const packed = await codec.compress({ buffer: data });
      assert.ok((await codec.decompress(packed)).equals(data), `type ${type}`);
    }
  });

  it('maps configured names to kafkajs types', () => {
    assert.equal(compressionType('none'), CompressionTypes.None);
    assert.equal(compressionType('gzip'), CompressionTypes.GZIP);
    assert.equal(compressionType('lz4'), CompressionTypes.LZ4);
    assert.equal(compressionType('zstd'), CompressionTypes.ZSTD);
  });
});
