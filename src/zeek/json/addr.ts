/**
 * Address text as Zeek renders it (spec §6.6): IPv4 dotted quad, IPv6 through Zeek's
 * BIND-derived `zeek_inet_ntop6` (first longest zero run, never a single group, and the
 * embedded-IPv4 forms `::a.b.c.d`, `::ffff:a.b.c.d` and `::ffff:0:a.b.c.d`). This is
 * not RFC 5952 and not what Node prints.
 */

/** Longest text: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255` is 45 bytes. */
export const MAX_ADDR_CHARS = 45;

const HEX = '0123456789abcdef';

function writeDecByte(out: Uint8Array, pos: number, b: number): number {
  if (b >= 100) {
    out[pos++] = 48 + ((b / 100) | 0);
    out[pos++] = 48 + (((b / 10) | 0) % 10);
  } else if (b >= 10) {
    out[pos++] = 48 + ((b / 10) | 0);
  }
  out[pos++] = 48 + (b % 10);
  return pos;
}

/** Dotted quad of src[off..off+4). */
export function writeIPv4(out: Uint8Array, pos: number, src: Uint8Array, off: number): number {
  pos = writeDecByte(out, pos, src[off]!);
  out[pos++] = 46;
  pos = writeDecByte(out, pos, src[off + 1]!);
  out[pos++] = 46;
  pos = writeDecByte(out, pos, src[off + 2]!);
  out[pos++] = 46;
  return writeDecByte(out, pos, src[off + 3]!);
}

/** Lowercase hex without leading zeros. */
function writeHex16(out: Uint8Array, pos: number, w: number): number {
  let started = false;
  for (let shift = 12; shift >= 0; shift -= 4) {
    const d = (w >> shift) & 15;
    if (d !== 0 || started || shift === 0) {
      out[pos++] = HEX.charCodeAt(d);
      started = true;
    }
  }
  return pos;
}

const words = new Uint16Array(8);

/** zeek_inet_ntop6 of src[off..off+16). */
export function writeIPv6(out: Uint8Array, pos: number, src: Uint8Array, off: number): number {
  for (let i = 0; i < 8; i++) words[i] = (src[off + 2 * i]! << 8) | src[off + 2 * i + 1]!;

  // First longest run of zero groups; runs shorter than 2 are not compressed.
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;

  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out[pos++] = 58;
      continue;
    }
    if (i !== 0) out[pos++] = 58;
    // Embedded IPv4. The `len == 7` clause of the C source is unreachable (group 6 is
    // inside the run then) and is left out.
    if (
      i === 6 &&
      bestBase === 0 &&
      (bestLen === 6 ||
        (bestLen === 5 && words[5] === 0xffff) ||
        (bestLen === 4 && words[4] === 0xffff && words[5] === 0))
    ) {
      return writeIPv4(out, pos, src, off + 12);
    }
    pos = writeHex16(out, pos, words[i]!);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out[pos++] = 58;
  return pos;
}

const scratch = Buffer.alloc(MAX_ADDR_CHARS);

/** Zeek's text for a 4- or 16-byte address. Convenience for tests and tools. */
export function formatAddr(bytes: Uint8Array): string {
  const end = bytes.length === 4 ? writeIPv4(scratch, 0, bytes, 0) : writeIPv6(scratch, 0, bytes, 0);
  return scratch.toString('latin1', 0, end);
}
