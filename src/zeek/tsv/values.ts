/**
 * One Zeek TSV value (already unescaped) to the JSON text Zeek's JSON writer prints for
 * the same value (spec §6.2). Integers keep their digits (no Number round trip, so 64-bit
 * counts stay exact); doubles go through Zeek's own double formatting; strings through
 * Zeek's JSON string escaping.
 */
import { isIP } from 'node:net';
import { formatDouble } from '../json/dtoa.js';
import { zeekJsonString } from '../json/escape.js';

// Values are latin1 strings: one char per byte, so no byte is altered on the way.

const SCALAR_NAMES = ['bool', 'int', 'count', 'port', 'double', 'time', 'interval', 'string', 'enum', 'file', 'func', 'addr', 'subnet'] as const;

/** The atomic types a Zeek log column (or a set/vector element) can have. */
export type ScalarType = (typeof SCALAR_NAMES)[number];

const SCALARS = new Set<string>(SCALAR_NAMES);

/** A `#types` entry: a scalar, or a set/vector of scalars (the only loggable containers). */
export interface ColumnType {
  readonly container: 'set' | 'vector' | undefined;
  readonly scalar: ScalarType;
}

/** Parses `count`, `set[string]`, `vector[interval]`; undefined for anything Zeek cannot log. */
export function parseColumnType(text: string): ColumnType | undefined {
  const m = /^(set|vector)\[([a-z]+)\]$/.exec(text);
  if (m) return SCALARS.has(m[2]!) ? { container: m[1] as 'set' | 'vector', scalar: m[2] as ScalarType } : undefined;
  return SCALARS.has(text) ? { container: undefined, scalar: text as ScalarType } : undefined;
}

/** True for the string-like types whose values are free text (and may be empty). */
export function isStringType(t: ScalarType): boolean {
  return t === 'string' || t === 'enum' || t === 'file' || t === 'func';
}

/** A value that does not parse as its column type; the message names what was wrong. */
export class ValueError extends Error {}

const UINT64_MAX = '18446744073709551615';
const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
const DOUBLE_RE = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
const NON_FINITE_RE = /^[-+]?(?:nan|inf|infinity)$/i;

/** Digits without leading zeros; undefined when `s` is not all digits. */
function canonicalDigits(s: string): string | undefined {
  if (/^(?:0|[1-9]\d{0,14})$/.test(s)) return s; // the common case, already canonical
  if (s.length === 0 || !/^\d+$/.test(s)) return undefined;
  const i = s.search(/[1-9]/);
  return i < 0 ? '0' : s.slice(i);
}

/** Compares equal-length digit strings, or by length otherwise. */
function exceeds(digits: string, max: string): boolean {
  return digits.length > max.length || (digits.length === max.length && digits > max);
}

/** A count as JSON digits, exact over the whole uint64 range. */
export function countText(s: string): string {
  const d = canonicalDigits(s);
  if (d === undefined) throw new ValueError(`not a count: ${JSON.stringify(s)}`);
  if (exceeds(d, UINT64_MAX)) throw new ValueError(`count out of range: ${s}`);
  return d;
}

/** An int as JSON digits, exact over the whole int64 range. */
export function intText(s: string): string {
  const neg = s.startsWith('-');
  const d = canonicalDigits(neg || s.startsWith('+') ? s.slice(1) : s);
  if (d === undefined) throw new ValueError(`not an int: ${JSON.stringify(s)}`);
  if (exceeds(d, neg ? INT64_MIN_ABS : INT64_MAX)) throw new ValueError(`int out of range: ${s}`);
  return neg && d !== '0' ? `-${d}` : d;
}

/** A port: JSON has only the number (Zeek drops the protocol); `80/tcp` is accepted too. */
export function portText(s: string): string {
  const slash = s.indexOf('/');
  const d = canonicalDigits(slash < 0 ? s : s.slice(0, slash));
  if (d === undefined || exceeds(d, '65535')) throw new ValueError(`not a port: ${JSON.stringify(s)}`);
  return d;
}

/**
 * A double/time/interval: parsed and printed the way Zeek's JSON writer prints the double
 * (`null` for NaN and infinities, as its NullDoubleWriter does). TSV rounds to 6 decimals,
 * so this is the JSON of the rounded value (see docs in tsv.ts).
 */
export function doubleText(s: string): string {
  if (DOUBLE_RE.test(s)) return formatDouble(Number(s));
  if (NON_FINITE_RE.test(s)) return 'null';
  throw new ValueError(`not a number: ${JSON.stringify(s)}`);
}

export function boolText(s: string): string {
  // Zeek writes T/F; its own reader also takes 1/0.
  if (s === 'T' || s === '1') return 'true';
  if (s === 'F' || s === '0') return 'false';
  throw new ValueError(`not a bool: ${JSON.stringify(s)}`);
}

/** Addresses pass through as Zeek printed them (the TSV and JSON writers share Render). */
export function checkAddr(s: string): void {
  if (isIP(s) === 0) throw new ValueError(`not an address: ${JSON.stringify(s)}`);
}

export function checkSubnet(s: string): void {
  const slash = s.lastIndexOf('/');
  const family = slash > 0 ? isIP(s.slice(0, slash)) : 0;
  const len = canonicalDigits(s.slice(slash + 1));
  if (family === 0 || len === undefined || Number(len) > (family === 4 ? 32 : 128)) {
    throw new ValueError(`not a subnet: ${JSON.stringify(s)}`);
  }
}

/** Printable ASCII without `"` and `\\`: JSON text as it is, under any escaping rule. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A Zeek string value (bytes as latin1) as Zeek's JSON string (escape_utf8 + rapidjson, spec §6.3). */
export function stringText(s: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  // The escaped text is valid UTF-8; hand its bytes back as latin1 like every other value.
  return Buffer.from(zeekJsonString(Buffer.from(s, 'latin1')), 'utf8').toString('latin1');
}

/** One scalar value (unescaped, bytes as latin1) as JSON text (bytes as latin1). */
export function scalarText(type: ScalarType, s: string): string {
  switch (type) {
    case 'string':
    case 'enum':
    case 'file':
    case 'func':
      return stringText(s);
    case 'bool':
      return boolText(s);
    case 'int':
      return intText(s);
    case 'count':
      return countText(s);
    case 'port':
      return portText(s);
    case 'double':
    case 'time':
    case 'interval':
      return doubleText(s);
    case 'addr':
      checkAddr(s);
      return `"${s}"`;
    case 'subnet':
      checkSubnet(s);
      return `"${s}"`;
  }
}
