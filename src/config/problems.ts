/** Convict reports all problems in one message, a line each; we keep them as a list. */
export function convictProblems(err: Error): string[] {
  return err.message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/^configuration param '([^']+)' not declared in the schema$/, '$1: unknown key'));
}
