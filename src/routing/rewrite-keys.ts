/**
 * Rewrites the top-level keys (and converts named time fields) of a record that is
 * already JSON text, without parsing it into objects: a small tokenizer walks the
 * top-level members, skipping values (strings, numbers, literals, nested containers)
 * byte by byte. Zeek's JSON records are flat objects, so top level is all there is.
 *
 * Safety rules (fuzzed in test/unit/routing/rewrite-keys.test.ts): anything the
 * tokenizer does not understand returns the input unchanged (same Buffer), a record
 * where nothing matches is returned unchanged, and valid JSON stays valid JSON.
 */
import { writeIso8601, writeMillis, MAX_TIME_CHARS } from '../zeek/json/time-format.js';
import type { TimestampMode } from '../zeek/types.js';
import { renameField, renames, type FieldNaming } from '../zeek/json/field-names.js';

export { renameField, type FieldNaming };

export interface RewriteOptions extends FieldNaming {
  /** Time fields (by their original name) converted from epoch seconds to this mode. */
  readonly timestamps?: TimestampMode | undefined;
  readonly timeFields?: readonly string[] | undefined;
}

/** True when the options change nothing, so the rewriter can be left out. */
export function rewritesNothing(o: RewriteOptions): boolean {
  const converts = o.timestamps !== undefined && o.timestamps !== 'epoch' && (o.timeFields === undefined || o.timeFields.length > 0);
  return !renames(o) && !converts;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_CACHED_KEYS = 4096;

const isWs = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** What happens to one top-level key: a new key (with quotes), a time conversion, or both. */
interface KeyAction {
  readonly key: Buffer | undefined;
  readonly time: boolean;
}

const KEEP: KeyAction = { key: undefined, time: false };

export class KeyRewriter {
  private readonly actions = new Map<string, KeyAction>();
  private readonly timeFields: ReadonlySet<string>;
  private readonly timeScratch = Buffer.alloc(MAX_TIME_CHARS + 2);

  constructor(private readonly opts: RewriteOptions) {
    const converts = opts.timestamps !== undefined && opts.timestamps !== 'epoch';
    this.timeFields = new Set(converts ? opts.timeFields ?? ['ts'] : []);
  }

  /** The record with keys renamed and time fields converted; the same Buffer if nothing changed. */
  rewrite(json: Buffer): Buffer {
    const n = json.length;
    let p = 0;
    while (p < n && isWs(json[p]!)) p++;
    if (json[p] !== 0x7b) return json;
    p++;
    let pieces: Buffer[] | undefined;
    let copied = 0; // input bytes before this offset are already in pieces
    for (;;) {
      while (p < n && isWs(json[p]!)) p++;
      if (p >= n) return json;
      if (json[p] === 0x7d) break; // } of an empty object or after a trailing comma: left as is
      if (json[p] !== QUOTE) return json;
      const keyStart = p;
      const keyEnd = skipString(json, p);
      if (keyEnd < 0) return json;
      p = keyEnd;
      while (p < n && isWs(json[p]!)) p++;
      if (json[p] !== 0x3a) return json;
      p++;
      while (p < n && isWs(json[p]!)) p++;
      const valueStart = p;
      p = skipValue(json, p);
      if (p < 0) return json;
      const action = this.action(json, keyStart, keyEnd);
      if (action !== KEEP) {
        const time = action.time ? this.convertTime(json, valueStart, p) : undefined;
        if (action.key !== undefined || time !== undefined) {
          pieces ??= [];
          if (action.key !== undefined) {
            pieces.push(json.subarray(copied, keyStart), action.key);
            copied = keyEnd;
          }
          if (time !== undefined) {
            pieces.push(json.subarray(copied, valueStart), time);
            copied = p;
          }
        }
      }
      while (p < n && isWs(json[p]!)) p++;
      if (json[p] === 0x2c) {
        p++;
        continue;
      }
      if (json[p] === 0x7d) break;
      return json;
    }
    if (pieces === undefined) return json;
    pieces.push(json.subarray(copied));
    return Buffer.concat(pieces);
  }

  private action(json: Buffer, start: number, end: number): KeyAction {
    const raw = json.toString('latin1', start, end);
    let a = this.actions.get(raw);
    if (a !== undefined) return a;
    let name: string;
    try {
      name = JSON.parse(json.toString('utf8', start, end)) as string;
    } catch {
      return KEEP; // not a key we can read: left alone
    }
    const renamed = renameField(name, this.opts);
    const time = this.timeFields.has(name);
    a = renamed === undefined && !time ? KEEP : { key: renamed === undefined ? undefined : Buffer.from(JSON.stringify(renamed)), time };
    if (this.actions.size < MAX_CACHED_KEYS) this.actions.set(raw, a);
    return a;
  }

  /** Epoch seconds (a JSON number) in the route's mode; undefined leaves the value alone. */
  private convertTime(json: Buffer, start: number, end: number): Buffer | undefined {
    const c = json[start]!;
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) return undefined; // not a number (null, a string...)
    const t = Number(json.toString('latin1', start, end));
    if (!Number.isFinite(t)) return undefined;
    const out = this.timeScratch;
    const len = this.opts.timestamps === 'iso8601'
      ? writeIso8601(out, 0, t)
      : writeMillis(out, 0, t, this.opts.timestamps === 'millis-unsigned');
    return Buffer.from(out.subarray(0, len));
  }
}

/** Index after the closing quote of the string starting at p, or -1. */
function skipString(b: Buffer, p: number): number {
  const n = b.length;
  for (p++; p < n; p++) {
    const c = b[p]!;
    if (c === QUOTE) return p + 1;
    if (c === BACKSLASH) p++;
    else if (c < 0x20) return -1;
  }
  return -1;
}

/** Index after the value starting at p (any JSON value, containers by bracket depth), or -1. */
function skipValue(b: Buffer, p: number): number {
  const n = b.length;
  if (p >= n) return -1;
  const c = b[p]!;
  if (c === QUOTE) return skipString(b, p);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (p < n) {
      const d = b[p]!;
      if (d === QUOTE) {
        p = skipString(b, p);
        if (p < 0) return -1;
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return p + 1;
      }
      p++;
    }
    return -1;
  }
  // Number or literal: up to the next delimiter.
  const start = p;
  while (p < n) {
    const d = b[p]!;
    if (d === 0x2c || d === 0x7d || d === 0x5d || isWs(d)) break;
    if (d === QUOTE || d === 0x7b || d === 0x5b || d === 0x3a) return -1;
    p++;
  }
  return p > start ? p : -1;
}
