#!/usr/bin/env node
// Runs the test suite with node's built-in runner. TypeScript is loaded through tsx.
// Node 20's runner has no glob support, so test files are collected here.
// Usage: node scripts/run-tests.mjs [unit|integration|container|<path fragment>...]
// test/container/ (a Docker engine: scripts/docker.sh up) runs only when a filter names it
// (`npm run test:container`), so `npm test` needs no engine.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const CONTAINER = join('test', 'container');
const files = collect('test').filter((f) =>
  filters.length === 0 ? !f.startsWith(CONTAINER) : filters.some((x) => f.includes(x) && (!f.startsWith(CONTAINER) || x.includes('container'))),
);
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
