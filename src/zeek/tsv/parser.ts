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
import { ValueError, isStringType, parseColumnType, scalarText, type ColumnType } from './values.js';

export { parseColumnType, type ColumnType, type ScalarType } from './values.js';

export type LineRejectReason = 'no-header' | 'bad-header' | 'field-count' | 'bad-value' | 'bad-json';

export type ParsedLine =
  | { readonly kind: 'record'; readonly json: Buffer; readonly ts: number | undefined }
  | { readonly kind: 'skip' }
  | { readonly kind: 'error'; readonly reason: LineRejectReason; readonly detail: string };

const SKIP: ParsedLine = { kind: 'skip' };
const ESCAPE = /\\(?:\\|[xX]([0-9a-fA-F]{2}))/g;

/**
 * Undoes TSV escaping: `\\` → `\`, `\xNN` → that byte; anything else stays as is.
 * Text is latin1 (one char per byte) throughout, so raw bytes pass unchanged.
 */
export function unescapeTsv(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(ESCAPE, (_m, hex: string | undefined) => (hex === undefined ? '\\' : String.fromCharCode(parseInt(hex, 16))));
}

interface Column {
  readonly name: string;
  readonly type: ColumnType;
  /** `"name":` as JSON (bytes as latin1). */
  readonly key: string;
}

/** The header state of one TSV log (markers as latin1 text); defaults are Zeek's. */
export interface TsvHeader {
  separator: string;
  setSeparator: string;
  emptyField: string;
  unsetField: string;
  path: string | undefined;
  fields: string[] | undefined;
  types: string[] | undefined;
}

export function defaultHeader(): TsvHeader {
  return { separator: '\t', setSeparator: ',', emptyField: '(empty)', unsetField: '-', path: undefined, fields: undefined, types: undefined };
}

/** A field name as a JSON key: rapidjson escaping only (names skip escape_utf8, spec §6.3). */
function jsonKey(latin1Name: string): string {
  const esc = latin1Name.replace(/["\\\x00-\x1f]/g, (c) => {
    const short: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };
    return short[c] ?? `\\u00${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  });
  return `"${esc}":`;
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

const utf8 = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('utf8');

/**
 * Line-by-line parser for one log file (keep one per file: TSV headers are state).
 * Lines come without their `\n`; a trailing `\r` is ignored.
 */
export class ZeekLogParser {
  readonly header: TsvHeader = defaultHeader();
  private columns: Column[] | undefined;
  private headerProblem: string | undefined;
  private tsColumn = -1;

  /** The `#path` of the current TSV header, if any. */
  get path(): string | undefined {
    return this.header.path;
  }

  parseLine(raw: Buffer): ParsedLine {
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    if (line.length === 0) return SKIP;
    // The writer escapes a leading `#` in data, so `#` always starts a meta line.
    if (line[0] === 0x23) return this.meta(line.toString('latin1'));
    if (this.columns !== undefined) return this.tsvRecord(line.toString('latin1'));
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

  private reset(): void {
    Object.assign(this.header, defaultHeader());
    this.columns = undefined;
    this.headerProblem = undefined;
  }

  private meta(text: string): ParsedLine {
    const h = this.header;
    if (text.startsWith('#separator ')) {
      // A new header block: the separator line comes first in every Zeek TSV log.
      this.reset();
      h.separator = unescapeTsv(text.slice('#separator '.length));
      if (h.separator.length === 0) return this.badHeader('empty #separator');
      return SKIP;
    }
    const at = text.indexOf(h.separator);
    const key = at < 0 ? text.slice(1) : text.slice(1, at);
    if (key === 'close') {
      // The end of a log: what follows needs a header of its own (or is JSON).
      this.reset();
      return SKIP;
    }
    if (at < 0) return SKIP; // a comment or a meta line we do not know
    const value = text.slice(at + h.separator.length);
    switch (key) {
      case 'set_separator':
        h.setSeparator = unescapeTsv(value);
        if (h.setSeparator.length === 0) return this.badHeader('empty #set_separator');
        break;
      case 'empty_field':
        h.emptyField = unescapeTsv(value);
        break;
      case 'unset_field':
        h.unsetField = unescapeTsv(value);
        break;
      case 'path':
        h.path = utf8(unescapeTsv(value));
        break;
      case 'fields':
        h.fields = value.split(h.separator).map(unescapeTsv);
        return this.buildColumns();
      case 'types':
        h.types = value.split(h.separator).map(unescapeTsv);
        return this.buildColumns();
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
      if (type === undefined) return this.badHeader(`unsupported type ${types[i]} of field ${utf8(fields[i]!)}`);
      cols.push({ name: utf8(fields[i]!), type, key: jsonKey(fields[i]!) });
    }
    this.tsColumn = cols.findIndex((c) => c.name === 'ts' && c.type.scalar === 'time' && c.type.container === undefined);
    this.columns = cols;
    return SKIP;
  }

  private tsvRecord(line: string): ParsedLine {
    const cols = this.columns!;
    const h = this.header;
    const parts = line.split(h.separator);
    if (parts.length !== cols.length) {
      return { kind: 'error', reason: 'field-count', detail: `expected ${cols.length} fields, got ${parts.length}` };
    }
    let out = '{';
    let ts: number | undefined;
    for (let i = 0; i < cols.length; i++) {
      const v = parts[i]!;
      const col = cols[i]!;
      if (v === h.unsetField) continue; // unset fields are left out
      if (out.length > 1) out += ',';
      try {
        out += col.key + this.value(col.type, v);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        return { kind: 'error', reason: 'bad-value', detail: `${col.name}: ${utf8(err.message)}` };
      }
      if (i === this.tsColumn) ts = Number(v);
    }
    return { kind: 'record', json: Buffer.from(`${out}}`, 'latin1'), ts };
  }

  private value(type: ColumnType, v: string): string {
    const h = this.header;
    const stringy = isStringType(type.scalar);
    if (type.container === undefined) {
      return stringy && v === h.emptyField ? '""' : scalarText(type.scalar, unescapeTsv(v));
    }
    // `(empty)` is an empty container (and, ambiguously, a set holding one empty string).
    if (v === h.emptyField || v.length === 0) return '[]';
    let out = '[';
    for (const el of v.split(h.setSeparator)) {
      if (out.length > 1) out += ',';
      if (el === h.unsetField) out += 'null'; // a vector hole
      else if (stringy && el === h.emptyField) out += '""';
      else out += scalarText(type.scalar, unescapeTsv(el));
    }
    return `${out}]`;
  }
}
