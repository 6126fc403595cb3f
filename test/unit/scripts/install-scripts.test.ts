// npm 12 runs a dependency's install script only when package.json's `allowScripts` approves it
// (npm 11.16+ warns). Three of ours need theirs: `node` installs the pinned Node into
// node_modules/.bin (the quick start and CI run on it), zeromq checks or builds its native addon,
// esbuild (tsx, the tests) sets up its binary. Without an approval a fresh `npm ci` on npm 12
// would leave the gateway without its runtime, so every package in the lockfile that has an
// install script must be approved here, or denied on purpose (false).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const read = (p: string): unknown => JSON.parse(readFileSync(join(process.cwd(), p), 'utf8'));

test('every dependency with an install script is named in allowScripts', () => {
  const lock = read('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const pkg = read('package.json') as { allowScripts?: Record<string, boolean> };
  const withScripts = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && p.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  assert.ok(withScripts.includes('node'), 'the pinned Node (the `node` package) has an install script');
  const decided = new Set(Object.keys(pkg.allowScripts ?? {}).map((k) => k.replace(/(?<=.)@[^@]*$/, '')));
  assert.deepEqual(withScripts.filter((name) => !decided.has(name)), []);
  for (const needed of ['node', 'zeromq']) assert.equal(pkg.allowScripts?.[needed], true, `${needed}'s install script is approved`);
});
