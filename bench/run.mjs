#!/usr/bin/env node
// `npm run bench [-- options]`: runs the benchmark suite (bench/suite.ts, TypeScript through tsx)
// after `npm run build` has built the gateway it starts. Options: bench/README.md or --help.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const suite = fileURLToPath(new URL('./suite.ts', import.meta.url));
const r = spawnSync(process.execPath, ['--import', 'tsx', suite, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
