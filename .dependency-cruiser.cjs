// Architecture rules, checked by `npm run check:architecture` (part of `npm test`).
// The pipeline: cli → gateway → ingress → routing → buffer → sinks/<kind>; config and ops
// beside it. Each rule says why it exists; a violation fails the check.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles hide which module depends on which; break them with an interface or a shared module.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'zeek-stands-alone',
      severity: 'error',
      comment: 'src/zeek/ (Zeek formats) knows nothing about the gateway, so it can be reused and tested on its own.',
      from: { path: '^src/zeek/' },
      to: { path: '^src/', pathNot: '^src/zeek/' },
    },
    {
      name: 'ingress-knows-no-routing-or-sinks',
      severity: 'error',
      comment: 'An ingress hands records to a RecordOutlet (ingress/deps.ts); routes, buffers and brokers are not its business.',
      from: { path: '^src/ingress/' },
      to: { path: '^src/(routing|sinks|buffer)/' },
    },
    {
      name: 'routing-knows-no-broker',
      severity: 'error',
      comment: 'Routing resolves addresses through the SinkKind contract (sinks/kind.ts) and offers to a SinkInput; it never imports a kind, the kind registry or the buffer.',
      from: { path: '^src/routing/' },
      to: { path: '^src/(sinks/|buffer/)', pathNot: '^src/sinks/kind\\.ts$' },
    },
    {
      name: 'kinds-are-independent',
      severity: 'error',
      comment: 'A sink kind imports only its own folder and what all kinds share (sinks/shared, kind.ts, transport.ts), never another kind.',
      from: { path: '^src/sinks/([^/]+)/' },
      to: {
        path: '^src/sinks/',
        pathNot: ['^src/sinks/$1/', '^src/sinks/shared/', '^src/sinks/kind\\.ts$', '^src/sinks/transport\\.ts$'],
      },
    },
    {
      name: 'shared-sink-code-knows-no-kind',
      severity: 'error',
      comment: 'What kinds share must not depend on one of them.',
      from: { path: '^src/sinks/(shared/|kind\\.ts$|transport\\.ts$)' },
      to: { path: '^src/sinks/', pathNot: ['^src/sinks/shared/', '^src/sinks/kind\\.ts$', '^src/sinks/transport\\.ts$'] },
    },
    {
      name: 'sinks-know-no-pipeline',
      severity: 'error',
      comment: 'Sink kinds talk to brokers; the gateway, config loading, ingress and routing are above them.',
      from: { path: '^src/sinks/' },
      to: { path: '^src/(gateway|cli)\\.ts$|^src/(config|ingress|routing|tools)/' },
    },
    {
      name: 'buffer-knows-no-kind',
      severity: 'error',
      comment: 'The buffer drives any Transport (sinks/transport.ts) and knows no broker.',
      from: { path: '^src/buffer/' },
      to: { path: '^src/(sinks/|routing/|ingress/|config/)', pathNot: '^src/sinks/transport\\.ts$' },
    },
    {
      name: 'ops-at-the-bottom',
      severity: 'error',
      comment: 'Logging, metrics and HTTP serve every stage, so they import none.',
      from: { path: '^src/ops/' },
      to: { path: '^src/', pathNot: '^src/ops/' },
    },
    {
      name: 'record-at-the-bottom',
      severity: 'error',
      comment: 'record.ts holds the types that flow between stages and imports nothing of ours.',
      from: { path: '^src/record\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'only-cli-builds-the-gateway',
      severity: 'error',
      comment: 'gateway.ts and cli.ts are the top: nothing in src/ imports them but the CLI.',
      from: { path: '^src/', pathNot: '^src/cli\\.ts$' },
      to: { path: '^src/(gateway|cli)\\.ts$' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'src-not-to-dev-deps',
      severity: 'error',
      comment: 'Shipped code cannot import a devDependency: it is not installed in production.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
