// The V8 settings the gateway runs with. V8 sizes the young generation from the heap limit,
// which it derives from the machine's memory: on a host with 24 GiB each semi-space grows to
// 64 MB, and under a sensor's allocation rate the gateway kept 128 MB of young generation
// committed (a third of its peak RSS) for no gain. 16 MB semi-spaces lowered the true peak
// RSS to 0.72-0.84x and cost no CPU per record (bench/results/2026-12-04-semispace.md). V8
// reads the size only at start, so the CLI re-executes itself (same process id: systemd and
// Docker see nothing) with the flag unless the operator set one.

/** The V8 option that sizes the young generation, in MB per semi-space. */
export const SEMI_SPACE_FLAG = '--max-semi-space-size';
export const SEMI_SPACE_MB = 16;

/**
 * The argv to re-execute this process with (the node binary first, as execve wants it), or
 * undefined when it runs with the flag already: set on the command line or in NODE_OPTIONS by
 * the operator (theirs wins), or by a previous re-execution.
 */
export function relaunchArgv(execPath: string, execArgv: readonly string[], argv: readonly string[], nodeOptions = ''): string[] | undefined {
  const setIn = (args: readonly string[]) => args.some((a) => a === SEMI_SPACE_FLAG || a.startsWith(`${SEMI_SPACE_FLAG}=`));
  if (setIn(execArgv) || setIn(nodeOptions.split(/\s+/))) return undefined;
  return [execPath, `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MB}`, ...execArgv, ...argv.slice(1)];
}
