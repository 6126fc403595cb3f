/**
 * Log-path patterns: a plain name matches itself, `*` matches any run of characters
 * and `?` one character (`dns*` matches dns, dns-2, dns_long). Nothing else is special.
 */
export function compileGlob(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** True when `path` matches any of the compiled patterns. */
export function matchesAny(patterns: readonly RegExp[], path: string): boolean {
  for (const p of patterns) if (p.test(path)) return true;
  return false;
}
