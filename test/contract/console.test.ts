// The transport contract for the console transport (a file): what applies without a broker.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleKind } from '../../src/sinks/console/index.js';
import { silentLogger } from '../../src/ops/log.js';
import { until } from '../helpers/records.js';
import { runTransportContract, type ContractDestination } from './suite.js';

const createConsole = await consoleKind.load({ file: '' });
const file = join(mkdtempSync(join(tmpdir(), 'zlg-contract-console-')), 'out.jsonl');
const size = (): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

runTransportContract('console', {
  hasBroker: false,
  create: ({ name }) => createConsole({ file }, { name, logger: silentLogger() }),
  // The lines written after the destination was made.
  async destination(): Promise<ContractDestination> {
    const from = size();
    const lines = (): string[] => readFileSync(file).subarray(from).toString().split('\n').slice(0, -1);
    return {
      address: { target: 'out' },
      read: async (count, timeoutMs = 10_000) => {
        await until(() => lines().length >= count, timeoutMs, `${count} lines`);
        return lines();
      },
    };
  },
});
