// Z85 (ZeroMQ RFC 32/Z85): the text form of CURVE keys, as Zeek and libzmq print them.
// Every 4 bytes, read as a big-endian uint32, become 5 base-85 digits, most significant first.

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

// Character code -> digit value, -1 for characters outside the alphabet.
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DIGIT[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes as Z85. The length must be a multiple of 4 (RFC 32 has no padding). */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) throw new RangeError(`Z85 input must be a multiple of 4 bytes, got ${data.length}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let out = '';
  for (let i = 0; i < data.length; i += 4) {
    let value = view.getUint32(i, false);
    const group = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      group[j] = ALPHABET[value % 85]!;
      value = Math.floor(value / 85);
    }
    out += group.join('');
  }
  return out;
}

/**
 * Decodes Z85 text. Throws a RangeError on a length that is not a multiple of 5, a character
 * outside the alphabet, or a 5-digit group above 2^32-1 (85^5 > 2^32, so such text exists but
 * encodes nothing). The message never repeats the input: it may be a secret key.
 */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new RangeError(`Z85 text must be a multiple of 5 characters, got ${text.length}`);
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(i + j);
      const digit = code < 128 ? DIGIT[code]! : -1;
      if (digit < 0) throw new RangeError(`character at position ${i + j} is not in the Z85 alphabet`);
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new RangeError(`Z85 group at position ${i} exceeds 32 bits`);
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}
