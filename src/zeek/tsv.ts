/**
 * Reads Zeek log lines, TSV (the ASCII writer's default) or JSON (`LogAscii::use_json=T`),
 * and gives each record as the JSON line Zeek's JSON writer would have written for it.
 *
 * TSV facts this relies on (Zeek's ASCII formatter and ODesc escaping):
 * - meta lines start with `#`; `#separator` is followed by a space and the escaped
 *   separator (`\x09`), the other meta lines use the separator; a new `#separator`
 *   starts a new header and `#close` ends a log (concatenated logs);
 * - values escape `\` as `\\` and separators and unprintable or invalid bytes as `\xNN`;
 *   a string equal to the unset or empty marker has its first byte escaped (`\x2d`);
 * - unset is `-`, an empty string/set/vector is `(empty)`; container elements are joined
 *   by the set separator, with `-` for vector holes;
 * - time/interval print 6 decimals (modp_dtoa), so a converted double is the JSON of the
 *   value rounded to that precision, not always the digits of the JSON log (see
 *   `sameZeekJson` in the tests: doubles are equal within half a unit of the last TSV digit).
 *
 * JSON lines are passed through byte for byte after a validity check.
 */
import { isUtf8 } from 'node:buffer';
import { writeJsonEscaped, maxEscapedLength } from './escape.js';
import { ByteSink, ValueError, isStringType, parseColumnType, writeScalar, type ColumnType } from './tsv-values.js';

export { parseColumnType, type ColumnType, type ScalarType } from './tsv-values.js';

export type LineRejectReason = 'no-header' | 'bad-header' | 'field-count' | 'bad-value' | 'bad-json';

export type ParsedLine =
  | { readonly kind: 'record'; readonly json: Buffer; readonly ts: number | undefined }
  | { readonly kind: 'skip' }
  | { readonly kind: 'error'; readonly reason: LineRejectReason; readonly detail: string };

const BACKSLASH = 0x5c;
const HASH = 0x23;
const SKIP: ParsedLine = { kind: 'skip' };

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/** Undoes the TSV escaping of src[start, end): `\\` → `\`, `\xNN` → the byte; other text as is. */
export function unescapeTsv(src: Buffer, start = 0, end = src.length): Buffer {
  const first = src.indexOf(BACKSLASH, start);
  if (first < 0 || first >= end) return src.subarray(start, end);
  const out = Buffer.allocUnsafe(end - start);
  let n = src.copy(out, 0, start, first);
  for (let i = first; i < end; ) {
    const c = src[i]!;
    if (c === BACKSLASH && i + 1 < end && src[i + 1] === BACKSLASH) {
      out[n++] = BACKSLASH;
      i += 2;
    } else if (c === BACKSLASH && i + 3 < end && (src[i + 1]! | 0x20) === 0x78) {
      const hi = hexVal(src[i + 2]!);
      const lo = hexVal(src[i + 3]!);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 4;
      } else {
        out[n++] = src[i++]!;
      }
    } else {
      out[n++] = src[i++]!;
    }
  }
  return out.subarray(0, n);
}

/** Splits src[start, end) on every occurrence of sep (multi-byte separators allowed). */
export function splitBytes(src: Buffer, sep: Buffer, start = 0, end = src.length): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  let from = start;
  for (;;) {
    const at = src.indexOf(sep, from);
    if (at < 0 || at + sep.length > end) break;
    parts.push([from, at]);
    from = at + sep.length;
  }
  parts.push([from, end]);
  return parts;
}

interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /** `"name":` as JSON bytes, with the leading comma for all but the first written member. */
  readonly key: Buffer;
}

/** The header state of one TSV log; defaults are Zeek's. */
export interface TsvHeader {
  separator: Buffer;
  setSeparator: Buffer;
  emptyField: Buffer;
  unsetField: Buffer;
  path: string | undefined;
  fields: string[] | undefined;
  types: string[] | undefined;
}

export function defaultHeader(): TsvHeader {
  return {
    separator: Buffer.from('\t'),
    setSeparator: Buffer.from(','),
    emptyField: Buffer.from('(empty)'),
    unsetField: Buffer.from('-'),
    path: undefined,
    fields: undefined,
    types: undefined,
  };
}

function jsonKey(name: string): Buffer {
  const raw = Buffer.from(name, 'utf8');
  const out = Buffer.allocUnsafe(maxEscapedLength(raw.length) + 1);
  out[0] = 0x22;
  let pos = writeJsonEscaped(out, 1, raw, 0, raw.length);
  out[pos++] = 0x22;
  out[pos++] = 0x3a;
  return Buffer.from(out.subarray(0, pos));
}

/** Finds a JSON record's `ts` for pacing: epoch seconds, or an ISO 8601 string. */
function jsonTs(obj: Record<string, unknown>): number | undefined {
  const ts = obj['ts'];
  if (typeof ts === 'number') return ts;
  if (typeof ts === 'string') {
    const ms = Date.parse(ts);
    return Number.isNaN(ms) ? undefined : ms / 1000;
  }
  return undefined;
}

/**
 * Line-by-line parser for one log file (keep one per file: TSV headers are state).
 * Lines come without their `\n`; a trailing `\r` is ignored.
 */
export class ZeekLogParser {
  readonly header: TsvHeader = defaultHeader();
  private columns: Column[] | undefined;
  private headerProblem: string | undefined;
  private tsColumn = -1;
  private readonly out = new ByteSink();

  /** The `#path` of the current TSV header, if any. */
  get path(): string | undefined {
    return this.header.path;
  }

  parseLine(raw: Buffer): ParsedLine {
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (line.length === 0) return SKIP;
    // The writer escapes a leading `#` in data, so `#` always starts a meta line.
    if (line[0] === HASH) return this.meta(line);
    if (this.columns !== undefined) return this.tsvRecord(line);
    if (this.headerProblem !== undefined) return { kind: 'error', reason: 'no-header', detail: this.headerProblem };
    if (line[0] === 0x7b) return this.jsonRecord(line);
    return { kind: 'error', reason: 'no-header', detail: 'neither a JSON object nor a TSV line after a #fields/#types header' };
  }

  private jsonRecord(line: Buffer): ParsedLine {
    if (!isUtf8(line)) return { kind: 'error', reason: 'bad-json', detail: 'not valid UTF-8' };
    let obj: unknown;
    try {
      obj = JSON.parse(line.toString('utf8'));
    } catch (err) {
      return { kind: 'error', reason: 'bad-json', detail: (err as Error).message };
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      return { kind: 'error', reason: 'bad-json', detail: 'not a JSON object' };
    }
    return { kind: 'record', json: line, ts: jsonTs(obj as Record<string, unknown>) };
  }

  private meta(line: Buffer): ParsedLine {
    const h = this.header;
    const text = line.toString('latin1');
    if (text.startsWith('#separator ')) {
      // A new header block: the separator line comes first in every Zeek TSV log.
      Object.assign(h, defaultHeader());
      this.columns = undefined;
      this.headerProblem = undefined;
      h.separator = unescapeTsv(line, '#separator '.length);
      if (h.separator.length === 0) return this.badHeader('empty #separator');
      return SKIP;
    }
    const at = line.indexOf(h.separator);
    if (at < 0) return SKIP; // a comment or a meta line we do not know
    const key = text.slice(1, at);
    const valueStart = at + h.separator.length;
    const value = (): Buffer => unescapeTsv(line, valueStart);
    const list = (): string[] =>
      splitBytes(line, h.separator, valueStart).map(([s, e]) => unescapeTsv(line, s, e).toString('utf8'));
    switch (key) {
      case 'set_separator':
        h.setSeparator = value();
        if (h.setSeparator.length === 0) return this.badHeader('empty #set_separator');
        break;
      case 'empty_field':
        h.emptyField = value();
        break;
      case 'unset_field':
        h.unsetField = value();
        break;
      case 'path':
        h.path = value().toString('utf8');
        break;
      case 'fields':
        h.fields = list();
        return this.buildColumns();
      case 'types':
        h.types = list();
        return this.buildColumns();
      case 'close':
        // The end of a log: what follows needs a header of its own (or is JSON).
        Object.assign(h, defaultHeader());
        this.columns = undefined;
        this.headerProblem = undefined;
        break;
      default:
        break; // #open and unknown keys carry nothing a record needs
    }
    return SKIP;
  }

  private badHeader(detail: string): ParsedLine {
    this.columns = undefined;
    this.headerProblem = `no usable header: ${detail}`;
    return { kind: 'error', reason: 'bad-header', detail };
  }

  private buildColumns(): ParsedLine {
    const { fields, types } = this.header;
    this.columns = undefined;
    this.headerProblem = undefined;
    if (fields === undefined || types === undefined) return SKIP; // the other line follows
    if (fields.length !== types.length) {
      return this.badHeader(`${fields.length} #fields but ${types.length} #types`);
    }
    const cols: Column[] = [];
    for (let i = 0; i < fields.length; i++) {
      const type = parseColumnType(types[i]!);
      if (type === undefined) return this.badHeader(`unsupported type ${types[i]} of field ${fields[i]}`);
      cols.push({ name: fields[i]!, type, key: jsonKey(fields[i]!) });
    }
    this.tsColumn = cols.findIndex((c) => c.name === 'ts' && c.type.scalar === 'time' && c.type.container === undefined);
    this.columns = cols;
    return SKIP;
  }

  private tsvRecord(line: Buffer): ParsedLine {
    const cols = this.columns!;
    const h = this.header;
    const parts = splitBytes(line, h.separator);
    if (parts.length !== cols.length) {
      return { kind: 'error', reason: 'field-count', detail: `expected ${cols.length} fields, got ${parts.length}` };
    }
    const out = this.out;
    out.pos = 0;
    out.byte(0x7b);
    let ts: number | undefined;
    let members = 0;
    for (let i = 0; i < cols.length; i++) {
      const [s, e] = parts[i]!;
      const col = cols[i]!;
      if (equalsAt(line, s, e, h.unsetField)) continue; // unset fields are left out
      if (members++ > 0) out.byte(0x2c);
      out.bytes(col.key);
      try {
        this.value(out, col.type, line, s, e);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        return { kind: 'error', reason: 'bad-value', detail: `${col.name}: ${err.message}` };
      }
      if (i === this.tsColumn) ts = Number(line.toString('latin1', s, e));
    }
    out.byte(0x7d);
    return { kind: 'record', json: Buffer.from(out.buf.subarray(0, out.pos)), ts };
  }

  private value(out: ByteSink, type: ColumnType, line: Buffer, s: number, e: number): void {
    const h = this.header;
    const isEmpty = equalsAt(line, s, e, h.emptyField);
    if (type.container === undefined) {
      if (isEmpty && isStringType(type.scalar)) out.ascii('""');
      else writeScalar(out, type.scalar, unescapeTsv(line, s, e));
      return;
    }
    out.byte(0x5b);
    // `(empty)` is an empty container (and, ambiguously, a set holding one empty string).
    if (!isEmpty && s < e) {
      splitBytes(line, h.setSeparator, s, e).forEach(([es, ee], j) => {
        if (j > 0) out.byte(0x2c);
        if (equalsAt(line, es, ee, h.unsetField)) out.ascii('null'); // a vector hole
        else if (isStringType(type.scalar) && equalsAt(line, es, ee, h.emptyField)) out.ascii('""');
        else writeScalar(out, type.scalar, unescapeTsv(line, es, ee));
      });
    }
    out.byte(0x5d);
  }
}

function equalsAt(src: Buffer, s: number, e: number, marker: Buffer): boolean {
  return e - s === marker.length && marker.length > 0 && src.compare(marker, 0, marker.length, s, e) === 0;
}
