/**
 * Reads one top-level field of a Zeek JSON record without parsing the record, e.g. the
 * `uid` used as Kafka message key. Zeek's JSON is flat (nested records are flattened
 * to `id.orig_h`), and a raw `"` can only appear inside a string escaped as `\"`, so
 * the byte sequence `{"name":` or `,"name":` marks exactly the top-level key.
 */
export class FieldExtractor {
  private readonly atStart: Buffer;
  private readonly afterComma: Buffer;

  constructor(readonly field: string) {
    const key = `${JSON.stringify(field)}:`;
    this.atStart = Buffer.from(`{${key}`);
    this.afterComma = Buffer.from(`,${key}`);
  }

  /**
   * The field's value as bytes: a string's contents without the quotes (still
   * JSON-escaped), or a number/literal as written. Undefined when absent or null.
   */
  extract(json: Buffer): Buffer | undefined {
    let at: number;
    if (json.subarray(0, this.atStart.length).equals(this.atStart)) at = this.atStart.length;
    else {
      const i = json.indexOf(this.afterComma);
      if (i < 0) return undefined;
      at = i + this.afterComma.length;
    }
    if (json[at] === 0x22) {
      // A string: find the closing quote that is not escaped.
      let end = at + 1;
      while (end < json.length) {
        const c = json[end];
        if (c === 0x5c) end += 2;
        else if (c === 0x22) return json.subarray(at + 1, end);
        else end++;
      }
      return undefined;
    }
    let end = at;
    while (end < json.length && json[end] !== 0x2c && json[end] !== 0x7d) end++;
    if (end === at) return undefined;
    const value = json.subarray(at, end);
    return value.length === 4 && value.toString() === 'null' ? undefined : value;
  }
}
