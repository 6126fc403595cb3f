// Imported first by the CLI, so that it runs before the other modules are evaluated: re-executes
// the process with the gateway's V8 settings (runtime-flags.ts) when they are missing. Where
// process.execve does not exist (Node before 22.15 / 23.11), the gateway runs with V8's defaults.
import { relaunchArgv } from './runtime-flags.js';

const argv = relaunchArgv(process.execPath, process.execArgv, process.argv, process.env.NODE_OPTIONS);
if (argv && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, argv, process.env);
  } catch {
    // Not allowed here (a worker thread, a sandbox): V8's defaults are only less frugal.
  }
}
