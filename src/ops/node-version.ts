// The Node versions the gateway supports are package.json's `engines.node` (">=X.Y.Z"). An older
// Node fails at startup with a message that says what to do, not later with an obscure error from
// a library that needs a newer runtime (@platformatic/kafka needs 22.22).

/** Why this Node version cannot run the gateway, or undefined when it can. */
export function nodeVersionProblem(engines: string | undefined, version: string = process.versions.node): string | undefined {
  const min = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(engines?.trim() ?? '');
  if (!min) return undefined;
  const want = min.slice(1).map(Number);
  const have = version.split('.').map((n) => Number.parseInt(n, 10));
  for (let i = 0; i < 3; i++) {
    const h = have[i] ?? 0;
    const w = want[i] as number;
    if (h > w) return undefined;
    if (h < w) {
      return (
        `Node ${version} is too old: zeek-log-gateway needs Node ${want.join('.')} or newer (tested on Node 24 LTS). ` +
        'Run it through npm (npm start, npx zeek-log-gateway), which uses the Node that npm ci installed in ' +
        'node_modules/.bin, or install Node 24 (the version in .node-version).'
      );
    }
  }
  return undefined;
}
