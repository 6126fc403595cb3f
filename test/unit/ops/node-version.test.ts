// The supported Node versions: package.json's engines, the pinned version npm installs, and the
// startup check that refuses an older Node with a message saying what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nodeVersionProblem } from '../../../src/ops/node-version.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
const pinned = readFileSync('.node-version', 'utf8').trim();

test('an older Node is refused with what to do; the minimum and newer ones pass', () => {
  const engines = '>=22.22.0';
  for (const old of ['20.20.2', '22.21.9', '22.9.0', '18.0.0']) {
    assert.match(nodeVersionProblem(engines, old) ?? '', new RegExp(`Node ${old.replace(/\./g, '\\.')} is too old: .*22\\.22\\.0 or newer.*npm ci`), old);
  }
  for (const ok of ['22.22.0', '22.22.1', '23.0.0', '24.21.0', '26.1.0']) assert.equal(nodeVersionProblem(engines, ok), undefined, ok);
  assert.equal(nodeVersionProblem(undefined, '10.0.0'), undefined, 'no engines: no opinion');
});

test('.node-version is the Node npm installs (the node dev dependency), and satisfies engines', () => {
  assert.match(pinned, /^24\.\d+\.\d+$/, 'Node 24 LTS');
  assert.equal(pkg.devDependencies.node, pinned, 'package.json devDependencies.node');
  assert.equal(nodeVersionProblem(pkg.engines.node, pinned), undefined);
});

test('the tests themselves run on a supported Node', () => {
  assert.equal(nodeVersionProblem(pkg.engines.node), undefined, `running on ${process.version}`);
});
