#!/usr/bin/env node
// Runs the test suite with node's built-in runner. TypeScript is loaded through tsx.
// Test files are collected here (one list, the same on every Node version).
// The tests run on the project's pinned Node (the `node` dev dependency, version in .node-version)
// when npm installed it, whichever node started this script; ZLG_TEST_NODE names another binary.
// Usage: node scripts/run-tests.mjs [unit|integration|container|<path fragment>...]
// test/container/ (a Docker engine: scripts/docker.sh up) runs only when a filter names it
// (`npm run test:container`), so `npm test` needs no engine.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
const pinned = resolve('node_modules/.bin/node');
const node = process.env.ZLG_TEST_NODE || (existsSync(pinned) ? pinned : process.execPath);
const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`tests run on Node ${version} (${node})`);
const r = spawnSync(node, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
