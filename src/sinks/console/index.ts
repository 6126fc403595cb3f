// The console sink kind: records to stdout or a file, one per line (debugging, dry runs, pipes).
import type { SinkKind } from '../kind.js';
import { consoleSchema, createConsoleTransport, type ConsoleOptions } from './transport.js';

export const consoleKind: SinkKind<ConsoleOptions> = {
  kind: 'console',
  schema: consoleSchema,
  addressing: {},
  // One stream: the path labels each line.
  address: (s) => ({ target: s.path }),
  // Node's own streams: nothing worth loading lazily.
  load: () => Promise.resolve(createConsoleTransport),
};
