// Long form of the fault tests (test/integration/faults.test.ts): the same scenarios, longer and
// with more cycles, then a table of what was sent, received, lost and duplicated per scenario.
// Exits 1 when a check failed. Needs the local brokers (bash scripts/brokers.sh up); it stops
// and starts them, so run it when nobody else uses them.
//
//   node --import tsx scripts/faults.ts [--scenarios rabbitmq,kafka,kafka-platformatic,sigterm-sub,sigterm-pull,sigkill-spool,one-sink-down]
//        [--rate 5000] [--cycles 10] [--down-ms 5000] [--up-ms 5000] [--outage-ms 30000]
//        [--max-in-flight 1] [--batch 1000] [--rabbit-max-records 2000] [--spool-rate 300]
//        [--spool-fsync always|interval|never]
// sigkill-spool runs at --spool-rate: with fsync per write the disk, not the gateway, sets the pace.
import { parseArgs } from 'node:util';
import {
  gatewaySigkillSpool,
  gatewaySigtermPull,
  gatewaySigtermSub,
  kafkaRestarts,
  oneSinkDown,
  rabbitRestarts,
  table,
  type FaultParams,
  type ScenarioResult,
} from '../test/helpers/faults.js';

const { values } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'rabbitmq,kafka,kafka-platformatic,sigterm-sub,sigterm-pull,sigkill-spool,one-sink-down' },
    rate: { type: 'string', default: '5000' },
    cycles: { type: 'string', default: '10' },
    'down-ms': { type: 'string', default: '5000' },
    'up-ms': { type: 'string', default: '5000' },
    'outage-ms': { type: 'string', default: '30000' },
    'max-in-flight': { type: 'string', default: '1' },
    batch: { type: 'string', default: '1000' },
    'rabbit-max-records': { type: 'string', default: '2000' },
    'spool-rate': { type: 'string', default: '300' },
    'spool-fsync': { type: 'string', default: 'always' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    'usage: node --import tsx scripts/faults.ts [--scenarios a,b] [--rate N] [--cycles N] [--down-ms N] [--up-ms N]\n' +
      '       [--outage-ms N] [--max-in-flight N] [--batch N] [--rabbit-max-records N] [--spool-rate N]\n' +
      '       [--spool-fsync always|interval|never]\n',
  );
  process.exit(0);
}

function int(name: keyof typeof values): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number\n`);
    process.exit(2);
  }
  return n;
}

function fsyncPolicy(): 'always' | 'interval' | 'never' {
  const v = String(values['spool-fsync']);
  if (v !== 'always' && v !== 'interval' && v !== 'never') {
    process.stderr.write('--spool-fsync must be always, interval or never\n');
    process.exit(2);
  }
  return v;
}

const params: FaultParams = {
  rate: int('rate'),
  cycles: int('cycles'),
  downMs: int('down-ms'),
  upMs: int('up-ms'),
  maxInFlight: int('max-in-flight'),
  batchMaxRecords: int('batch'),
  progress: (line) => process.stderr.write(`${line}\n`),
};

const SCENARIOS: Record<string, () => Promise<ScenarioResult>> = {
  rabbitmq: () => rabbitRestarts(params),
  kafka: () => kafkaRestarts(params),
  'kafka-platformatic': () => kafkaRestarts({ ...params, kafkaClient: 'platformatic' }),
  'sigterm-sub': () => gatewaySigtermSub(params),
  'sigterm-pull': () => gatewaySigtermPull(params),
  'sigkill-spool': () => gatewaySigkillSpool({ ...params, rate: int('spool-rate') }, fsyncPolicy()),
  'one-sink-down': () => oneSinkDown({ ...params, outageMs: int('outage-ms'), rabbitMaxRecords: int('rabbit-max-records') }),
};

const chosen = String(values.scenarios).split(',').map((s) => s.trim()).filter(Boolean);
for (const name of chosen) {
  if (!(name in SCENARIOS)) {
    process.stderr.write(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}\n`);
    process.exit(2);
  }
}

const results: ScenarioResult[] = [];
for (const name of chosen) {
  try {
    results.push(await SCENARIOS[name]!());
  } catch (err) {
    // A scenario throws only when it cannot start (e.g. a broker is missing).
    results.push({ name, rows: [], checks: [{ ok: false, what: (err as Error).message }], load: undefined, durationMs: 0 });
  }
}

const out = process.stdout;
out.write(`\nrate ${params.rate}/s, ${params.cycles} cycles, down ${params.downMs} ms, up ${params.upMs} ms, ` +
  `maxInFlight ${params.maxInFlight}, batchMaxRecords ${params.batchMaxRecords}` +
  (chosen.includes('sigkill-spool') ? `; sigkill-spool at ${int('spool-rate')}/s, fsync ${fsyncPolicy()}` : '') + '\n\n');
for (const line of table(results.flatMap((r) => r.rows))) out.write(`${line}\n`);
out.write('\n');
let failed = 0;
for (const r of results) {
  const bad = r.checks.filter((c) => !c.ok);
  failed += bad.length;
  const load = r.load ? `, load ${r.load.sent} records at ${Math.round(r.load.rate)}/s (max lag ${r.load.maxLagMs} ms)` : '';
  out.write(`${r.name}: ${bad.length === 0 ? 'ok' : 'FAILED'} (${(r.durationMs / 1000).toFixed(0)} s${load})\n`);
  for (const c of bad) out.write(`  - ${c.what}\n`);
}
process.exit(failed === 0 ? 0 : 1);
