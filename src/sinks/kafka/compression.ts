// Kafka compression codecs for kafkajs, which ships gzip only. Everything here is pure JS
// or WASM: nothing to compile or download at install time.
import kafkajs from 'kafkajs';
import { createRequire } from 'node:module';
import { init as zstdInit, compress as zstdCompress, decompress as zstdDecompress } from '@bokuweb/zstd-wasm';

const { CompressionTypes, CompressionCodecs } = kafkajs;
const require = createRequire(import.meta.url);

export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** What kafkajs expects from a codec: `compress` gets its Encoder, of which only `buffer` is used. */
export interface KafkaCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

// lz4-wasm-nodejs (lz4_flex in WASM): block compression with the input size prepended.
const lz4Block = require('lz4-wasm-nodejs') as { compress(input: Uint8Array): Uint8Array };
// lz4js (plain JS): frame decompression and the xxhash32 of the frame descriptor.
const lz4js = require('lz4js') as { decompress(src: Uint8Array): Uint8Array };
const xxh32 = require('lz4js/xxh32.js') as { hash(seed: number, src: Uint8Array, index: number, len: number): number };

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_SIZE = 64 * 1024;
// FLG: version 01, independent blocks (Kafka's reader decompresses each block on its own),
// no checksums, no content size. BD: 64 KiB blocks, as the Java producer writes.
const LZ4_FLG = 0x60;
const LZ4_BD = 0x40;
const LZ4_HEADER = (() => {
  const h = Buffer.alloc(7);
  h.writeUInt32LE(LZ4_MAGIC, 0);
  h[4] = LZ4_FLG;
  h[5] = LZ4_BD;
  h[6] = (xxh32.hash(0, h, 4, 2) >>> 8) & 0xff;
  return h;
})();
const LZ4_UNCOMPRESSED = 0x80000000;

/** Compresses into one LZ4 frame of independent 64 KiB blocks. */
export function lz4FrameCompress(src: Buffer): Buffer {
  const parts: Buffer[] = [LZ4_HEADER];
  for (let off = 0; off < src.length; off += LZ4_BLOCK_SIZE) {
    const chunk = src.subarray(off, Math.min(off + LZ4_BLOCK_SIZE, src.length));
    // Drop the 4-byte size prefix: the frame format has its own block header.
    const block = lz4Block.compress(chunk).subarray(4);
    const size = Buffer.alloc(4);
    if (block.length >= chunk.length) {
      size.writeUInt32LE((LZ4_UNCOMPRESSED | chunk.length) >>> 0);
      parts.push(size, chunk);
    } else {
      size.writeUInt32LE(block.length);
      parts.push(size, Buffer.from(block.buffer, block.byteOffset, block.length));
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

export function lz4FrameDecompress(src: Buffer): Buffer {
  const out = lz4js.decompress(src);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

export const lz4Codec: KafkaCodec = {
  async compress(encoder) {
    return lz4FrameCompress(encoder.buffer);
  },
  async decompress(buffer) {
    return lz4FrameDecompress(buffer);
  },
};

let zstdReady: Promise<void> | undefined;
const ZSTD_LEVEL = 3;
/** Output guess for frames that do not record their size (other producers' streams). */
const ZSTD_MAX_HEAP = 256 * 1024 * 1024;

export async function zstdFrameCompress(src: Buffer): Promise<Buffer> {
  await (zstdReady ??= zstdInit());
  const out = zstdCompress(src, ZSTD_LEVEL);
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

export async function zstdFrameDecompress(src: Buffer): Promise<Buffer> {
  await (zstdReady ??= zstdInit());
  // Frames with a content size decompress in one go; others need an output size guess.
  for (let heap = Math.max(1 << 20, src.length * 8); ; heap *= 4) {
    try {
      const out = zstdDecompress(src, { defaultHeapSize: heap });
      return Buffer.from(out.buffer, out.byteOffset, out.length);
    } catch (err) {
      if (heap >= ZSTD_MAX_HEAP) throw err;
    }
  }
}

export const zstdCodec: KafkaCodec = {
  compress: (encoder) => zstdFrameCompress(encoder.buffer),
  decompress: zstdFrameDecompress,
};

let registered = false;

/** Registers snappy, lz4 and zstd with kafkajs (process-wide, idempotent). */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registered = true;
  const snappy = require('kafkajs-snappy') as () => KafkaCodec;
  const codecs = CompressionCodecs as Record<number, () => KafkaCodec>;
  codecs[CompressionTypes.Snappy] = snappy;
  codecs[CompressionTypes.LZ4] = () => lz4Codec;
  codecs[CompressionTypes.ZSTD] = () => zstdCodec;
}

/** The kafkajs compression type for a configured name (registering the codecs it needs). */
export function compressionType(kind: KafkaCompression): number {
  registerKafkaCodecs();
  switch (kind) {
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'snappy':
      return CompressionTypes.Snappy;
    case 'lz4':
      return CompressionTypes.LZ4;
    case 'zstd':
      return CompressionTypes.ZSTD;
  }
}
