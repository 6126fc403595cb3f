#!/usr/bin/env node
// `npm run bench [-- options]`: runs the benchmark suite (bench/suite.ts, TypeScript through tsx)
// after `npm run build` has built the gateway it starts. Options: bench/README.md or --help.
// `--peers` runs the peers benchmark instead (bench/peers/suite.ts, also `npm run bench:peers`).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const peers = args.includes('--peers');
const suite = fileURLToPath(new URL(peers ? './peers/suite.ts' : './suite.ts', import.meta.url));
const r = spawnSync(process.execPath, ['--import', 'tsx', suite, ...args.filter((a) => a !== '--peers')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
