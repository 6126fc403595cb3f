// bench/results/<date>-<host>.md: the results as tables, with what each number means.
import { recordsPerMessageOf, type Results, type ScenarioResult, type Verification } from './results.js';

const n = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (x: number | undefined): string => (x === undefined ? '–' : `${n(x * 100, 1)}%`);

/** NDJSON: how many messages the verifier split into the records. */
const inMessages = (v: Verification): string => (v.messages === undefined ? '' : ` in ${n(v.messages)} messages`);

/** NDJSON: the records per message the verifier found, on average (the gateway groups the records of one path and sender within each of its batches). */
function recordsPerMessage(s: ScenarioResult): string {
  const v = s.verification.find((x) => x.messages !== undefined);
  return v?.messages ? `; ${n(v.received / v.messages, 1)} records per message on average` : '';
}

function verified(r: ScenarioResult): string {
  if (r.error) return 'error';
  if (r.verification.length === 0) return '–';
  return r.verification
    .map((v) =>
      v.ok
        ? `${v.sink}: ${n(v.received)} ✓${inMessages(v)}`
        : `${v.sink}: ${n(v.received)} received${inMessages(v)}, ${n(v.lost)} lost, ${n(v.duplicates)} dup, ${n(v.foreign)} foreign ✗`,
    )
    .join('; ');
}

function memory(s: ScenarioResult): string {
  const m = s.memoryAtPeak;
  if (!m) return '–';
  const other = m.rssMB - m.heapTotalMB - m.externalMB;
  return `RSS ${n(m.rssMB, 1)} MB = V8 heap ${n(m.heapTotalMB, 1)} MB (${n(m.heapUsedMB, 1)} used) + external (Buffers) ${n(m.externalMB, 1)} MB + the rest (native: libzmq queues, code, allocator) ${n(other, 1)} MB; sinks held ${n(m.bufferedRecords)} records / ${n(m.bufferedMB, 1)} MB`;
}

/** The sinks' NDJSON setting of a scenario, as the report names it. */
function ndjsonLabel(s: ScenarioResult): string | undefined {
  const k = recordsPerMessageOf(s);
  return k === undefined ? undefined : `NDJSON, ${n(k)} records per message`;
}

/** What ends an NDJSON run, per broker: the count that stops growing once every record is acknowledged. */
const MESSAGE_COUNT = { kafka: 'Kafka: the sum of the topics\' high-water marks', amqp: 'RabbitMQ: the queue\'s message count' } as const;

/** The paragraph under the maximum-rate table that says what the NDJSON runs measured. */
function ndjsonNote(r: Results, ndjson: ScenarioResult[]): string {
  const held = ndjson.filter((s) => r.targets.some((t) => t.scenario === s.id));
  const free = ndjson.filter((s) => !held.includes(s));
  // Name the runs only when some have a target and some have none.
  const which = (ss: ScenarioResult[], text: string): string =>
    held.length > 0 && free.length > 0 ? ` ${ss.map((s) => `\`${s.id}\``).join(', ')}: ${text}` : ` ${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;
  const targets = [...new Set(r.targets.filter((t) => held.some((s) => s.id === t.scenario)).map((t) => t.target))];
  const sinks = (['kafka', 'amqp'] as const).filter((k) => ndjson.some((s) => s.sinks.includes(k)));
  return [
    `${ndjson.map((s) => `\`${s.id}\` (${ndjsonLabel(s) ?? ''}${recordsPerMessage(s)})`).join(', ')}: the ${sinks.map((k) => (k === 'kafka' ? 'Kafka' : 'AMQP')).join(' and ')} ${sinks.length > 1 ? "sinks'" : "sink's"} opt-in NDJSON mode (\`recordsPerMessage\`: up to that many records of one path and sender in one broker message, one per line).`,
    held.length > 0 ? which(held, `held to the target of the same runs with one record per message (${targets.join(', ')}), in rows of their own that name the mode (see Targets).`) : '',
    free.length > 0 ? which(free, 'an alternative measured for a decision — no target.') : '',
    ' The broker ceilings publish one record per message, so a ratio above 100% is what batching buys.',
    ` The run ended when the broker's message count (${sinks.map((k) => MESSAGE_COUNT[k]).join('; ')}) first showed its final value, once the gateway counted every record acknowledged by the broker; the verifier split every message into its records and matched each one byte for byte.`,
  ].join('');
}

/** A scenario id with the Kafka client and the message format it measured, for the tables that show ids only. */
function idOf(s: ScenarioResult): string {
  const labels = [s.kafkaClient, ndjsonLabel(s)].filter((l) => l !== undefined);
  return labels.length > 0 ? `${s.id} (${labels.join('; ')})` : s.id;
}

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `notes`: hand-written analysis (markdown) put in after the targets, e.g. by bench/render.ts --notes. */
export function renderMarkdown(r: Results, notes?: string): string {
  const m = r.machine;
  const out: string[] = [];
  const gw = r.scenarios.filter((s) => s.kind === 'gateway' || s.kind === 'outage');
  const max = gw.filter((s) => s.mode === 'max');
  const fixed = gw.filter((s) => s.mode === 'fixed');
  const ceilings = r.scenarios.filter((s) => s.kind !== 'gateway' && s.kind !== 'outage');
  const opts = r.options as Record<string, number | string | boolean>;

  out.push(`# zeek-log-gateway benchmark — ${r.startedAt.slice(0, 10)} on ${m.host}${r.smoke ? ' (SMOKE run: tiny sizes, numbers mean nothing)' : ''}`);
  out.push('');
  out.push(`Generated by \`npm run bench\` (bench/suite.ts); ${n(r.durationSeconds)} s from ${r.startedAt} to ${r.finishedAt}. Every figure below comes from this one run on this machine.`);
  out.push('');
  if (r.gatewayDir) {
    out.push(`**Experiment:** the gateway ran from \`${r.gatewayDir}/dist/cli.js\`, not this checkout's build.`);
    out.push('');
  }
  if (r.gatewayConfigOverlays.length > 0) {
    out.push('**Experiment:** every gateway run had these settings layered over the shipped defaults:');
    out.push('');
    for (const o of r.gatewayConfigOverlays) out.push(`- \`${o.file}\`: \`${JSON.stringify(o.config)}\``);
    out.push('');
  }
  out.push('## Machine');
  out.push('');
  out.push(
    table(
      ['', ''],
      [
        ['CPU', `${m.cores} cores, ${m.cpuModel}`],
        ['memory', `${m.memoryGiB} GiB`],
        ['OS', m.os],
        ['Node.js', m.node],
        ['RabbitMQ', m.rabbitmq],
        ['Kafka', m.kafka],
        ['libraries', Object.entries(m.libraries).map(([k, v]) => `${k} ${v}`).join(', ')],
        ['gateway', `${m.gatewayVersion}, commit ${m.gitCommit}`],
        ['load average at start', m.loadAverageAtStart.join(' / ')],
      ],
    ),
  );
  out.push('');

  if (max.length > 0) {
    out.push('## Gateway at maximum rate (N records, `block` policy, zero loss)');
    out.push('');
    out.push(
      table(
        ['scenario', 'records', 'seconds', 'records/s', 'MB/s', 'ceiling records/s', 'gateway / ceiling', 'CPU s / M records', 'gateway cores', 'peak RSS MB', 'machine busy', 'verified at the broker'],
        max.map((s) => [
          `${s.title} (\`${s.id}\`)`,
          n(s.records),
          n(s.seconds, 2),
          n(s.recordsPerSec),
          n(s.mbPerSec, 1),
          s.ceiling ? `${n(s.ceiling.recordsPerSec)} (${s.ceiling.ids.join(', ')})` : '–',
          pct(s.ratio),
          n(s.cpuSecondsPerMillion, 1),
          n(s.gatewayCores, 2),
          n(s.peakRssMB, 1),
          s.machineBusyPercent === undefined ? '–' : `${n(s.machineBusyPercent, 0)}%`,
          verified(s),
        ]),
      ),
    );
    out.push('');
    const ndjson = max.filter((s) => recordsPerMessageOf(s) !== undefined);
    if (ndjson.length > 0) {
      out.push(ndjsonNote(r, ndjson));
      out.push('');
    }
  }

  if (fixed.length > 0) {
    out.push(`## Gateway at a fixed rate: latency`);
    out.push('');
    out.push(
      `Latency = generator send (CLOCK_MONOTONIC just before the ZeroMQ send) → arrival at the benchmark's consumer (the Kafka fetch or AMQP delivery handed to it). It is end to end: ZeroMQ, the gateway, the broker's acknowledgement **and** the broker-to-consumer hop, so it is an upper bound of ingress→ack. Records sent in the first ${n(Number(opts.warmupSeconds), 1)} s are left out (warm-up); "max incl. warm-up" includes them. For cluster batches every record of a batch carries the batch's send time${fixed.some((s) => recordsPerMessageOf(s) !== undefined) ? '; for NDJSON messages every record of a message carries the message\'s arrival time' : ''}. The last column is the gateway's own \`zeek_gateway_delivery_latency_seconds\` histogram (ingress receipt → broker ack, whole run, interpolated within its buckets: coarse).`,
    );
    out.push('');
    out.push(
      table(
        ['scenario', 'rate', 'records', 'records/s achieved', 'p50 ms', 'p99 ms', 'max ms', 'mean ms', 'max incl. warm-up ms', 'CPU s / M records', 'gateway cores', 'peak RSS MB', 'gateway histogram p50 / p99 ms', 'machine busy', 'verified at the broker'],
        fixed.map((s) => [
          `${s.title} (\`${s.id}\`)`,
          n(s.targetRate),
          n(s.records),
          n(s.recordsPerSec),
          n(s.latency?.p50Ms, 2),
          n(s.latency?.p99Ms, 2),
          n(s.latency?.maxMs, 1),
          n(s.latency?.meanMs, 2),
          n(s.latency?.maxIncludingWarmupMs, 1),
          n(s.cpuSecondsPerMillion, 1),
          n(s.gatewayCores, 2),
          n(s.peakRssMB, 1),
          Object.entries(s.gatewayHistogram ?? {})
            .map(([k, h]) => `${k}: ${n(h?.p50Ms, 2)} / ${n(h?.p99Ms, 2)}`)
            .join('; ') || '–',
          s.machineBusyPercent === undefined ? '–' : `${n(s.machineBusyPercent, 0)}%`,
          verified(s),
        ]),
      ),
    );
    out.push('');
    out.push('Slow records over time (by send second, steady state and warm-up): in how many seconds of the run some record took over 25 ms, and the share of records over 25 ms — spread out, or bunched in a few stalls?');
    out.push('');
    out.push(
      table(
        ['scenario', 'sink', 'seconds with a record over 25 ms', 'records over 25 ms', 'slowest seconds (second: max ms)'],
        fixed.flatMap((s) =>
          Object.entries(s.latencyBySecond ?? {}).map(([sink, secs]) => {
            const list = secs ?? [];
            const slow = list.filter((x) => x.over25Ms > 0);
            const over = list.reduce((a, x) => a + x.over25Ms, 0);
            const total = list.reduce((a, x) => a + x.records, 0);
            const worst = [...list].sort((a, b) => b.maxMs - a.maxMs).slice(0, 4).map((x) => `${x.second}: ${n(x.maxMs, 0)}`);
            return [idOf(s), sink, `${slow.length} of ${list.length}`, `${n(over)} (${n(total > 0 ? (100 * over) / total : 0, 2)}%)`, worst.join(', ')];
          }),
        ),
      ),
    );
    const multi = fixed.filter((s) => Object.keys(s.latencyBySink ?? {}).length > 1);
    for (const s of multi) {
      out.push('');
      out.push(
        `\`${idOf(s)}\` per sink: ${Object.entries(s.latencyBySink ?? {})
          .map(([k, l]) => `${k} p50 ${n(l?.p50Ms, 2)} / p99 ${n(l?.p99Ms, 2)} / max ${n(l?.maxMs, 1)} ms`)
          .join('; ')}`,
      );
    }
    out.push('');
  }

  const mem = gw.filter((s) => s.memoryAtPeak || s.maxEventLoopLagMs !== undefined);
  if (mem.length > 0) {
    out.push('## Gateway memory, garbage collection and event loop');
    out.push('');
    out.push('From the gateway\'s own /metrics, polled every 0.5 s (every 2 s in the fixed-rate runs, to disturb the latency less): the scrape with the highest RSS. "rest" is RSS minus the V8 heap and Node\'s external (Buffer) memory: native memory such as libzmq\'s socket queues, code and allocator slack.');
    out.push('');
    out.push(
      table(
        ['scenario', 'peak RSS (VmHWM) MB', 'RSS at that scrape MB', 'V8 heap total / used MB', 'external MB', 'rest MB', 'records held by the sinks', 'GC s during the run', 'max event-loop delay ms'],
        mem.map((s) => {
          const m = s.memoryAtPeak;
          return [
            idOf(s),
            n(s.peakRssMB, 1),
            n(m?.rssMB, 1),
            m ? `${n(m.heapTotalMB, 1)} / ${n(m.heapUsedMB, 1)}` : '–',
            n(m?.externalMB, 1),
            m ? n(m.rssMB - m.heapTotalMB - m.externalMB, 1) : '–',
            Object.entries(s.maxBufferedRecords ?? {}).map(([k, v]) => `${k}: ${n(v)}`).join(', ') || '–',
            n(s.gcSeconds, 2),
            n(s.maxEventLoopLagMs, 0),
          ];
        }),
      ),
    );
    out.push('');
  }

  const outage = gw.filter((s) => s.mode === 'outage');
  for (const s of outage) {
    out.push(`## Broker outage: ${s.title}`);
    out.push('');
    const o = s.outage;
    out.push(
      table(
        ['', ''],
        [
          ['rate', `${n(s.targetRate)} records/s, ${n(s.records)} records in all`],
          ['RabbitMQ stopped', o ? `${n(o.seconds, 1)} s (\`bash scripts/rabbitmq.sh stop-app\`, ${n(o.stoppedAfterSeconds, 1)} s into the run)` : '–'],
          ['gateway peak RSS (VmHWM, whole run)', `${n(s.peakRssMB, 1)} MB`],
          ['gateway peak RSS while RabbitMQ was down (sampled every 100 ms)', `${n(o?.peakRssDuringOutageMB, 1)} MB`],
          ['most records held by the sink (sampled every 0.5 s)', n(s.maxBufferedRecords?.amqp)],
          ['memory when RSS peaked (gateway /metrics)', memory(s)],
          ['backlog delivered after the restart in', `${n(o?.recoverySeconds, 1)} s`],
          ['sink retries / records dropped by the gateway', `${n(o?.retries)} / ${n(o?.dropped)}`],
          ['generator sends that waited (backpressure reached the sender)', n(s.generator?.stalls)],
          ['verified at the broker', verified(s)],
        ],
      ),
    );
    out.push('');
    const d = o?.defaults ?? { maxRecords: 50_000, maxBytes: 32 * 2 ** 20, subReceiveHighWaterMark: 100_000 };
    out.push(
      `Buffer settings: the shipped defaults (\`maxRecords\` ${n(d.maxRecords)}, \`maxBytes\` ${n(d.maxBytes / 2 ** 20)} MiB, \`whenFull: block\`). When the sink is full the gateway stops reading, the SUB socket's receive HWM (${n(d.subReceiveHighWaterMark)}) fills, and then the generator's XPUB (ZMQ_XPUB_NODROP) waits: in this benchmark nothing is dropped anywhere, so every record must arrive; duplicates are allowed (at-least-once) and counted.`,
    );
    out.push('');
  }

  if (ceilings.length > 0) {
    out.push('## Ceilings and the load generator');
    out.push('');
    out.push(
      table(
        ['ceiling', 'records', 'seconds', 'records/s', 'both runs records/s', 'MB/s', 'its own CPU s', 'generator µs CPU / record', 'generator sends that waited', 'machine busy', 'verified'],
        ceilings.map((s) => [
          `${s.title} (\`${s.id}\`)`,
          n(s.records),
          n(s.seconds, 2),
          n(s.recordsPerSec),
          s.runsRecordsPerSec ? s.runsRecordsPerSec.map((x) => n(x)).join(' / ') : '–',
          n(s.mbPerSec, 1),
          n(s.clientCpuSeconds, 2),
          n(s.generator?.cpuMicrosPerRecord, 2),
          n(s.generator?.stalls),
          s.machineBusyPercent === undefined ? '–' : `${n(s.machineBusyPercent, 0)}%`,
          verified(s),
        ]),
      ),
    );
    out.push('');
    if (ceilings.some((s) => s.runsRecordsPerSec)) {
      out.push('Each ceiling ran twice, before and after the gateway\'s maximum-rate runs (the machine\'s load drifts); the table shows the better run, which the ratios use.');
      out.push('');
    }
    out.push(
      `- **Ingress ceiling** (\`ingress-*\`): the load generator (its own process) → a bare zeromq.js SUB (or PULL) receive loop in another process that only counts. records/s = N / (last message received − first sent). The same run measures the generator alone: its CPU per record is in the table; 1,000,000 / that is what it can send on one free core.`,
    );
    out.push(
      `- **Kafka ceiling, kafkajs** (\`ceiling-kafka\`): a bare kafkajs producer (its own process) sends the same records, tagged as the gateway tags them, with the gateway's Kafka settings (acks=-1, no compression, murmur2 partitioner, batches of at most 1,000 records / 900,000 bytes) and ${n(Number(opts.kafkaInFlight))} batches in flight. records/s = N / (broker's high-water marks reach N − first send).`,
    );
    if (ceilings.some((s) => s.id === 'ceiling-platformatic')) {
      out.push(
        `- **Kafka ceiling, @platformatic/kafka** (\`ceiling-platformatic\`): a bare @platformatic/kafka producer (its own process) sends the same records, tagged as the gateway tags them, with the producer options the gateway's \`client: "platformatic"\` derives from its default Kafka options (acks=-1, no compression, the Java client's murmur2 partitioner), in the same batches as the kafkajs ceiling with ${n(Number(opts.kafkaInFlight))} batches in flight. records/s = N / (broker's high-water marks reach N − first send).`,
      );
    }
    out.push(
      `- **AMQP ceiling** (\`ceiling-amqp\`): a bare amqplib confirm-channel publisher (its own process), persistent messages with the gateway's properties and headers to the same topic exchange and queue layout, up to ${n(Number(opts.amqpWindow))} unconfirmed messages in flight, waiting on 'drain'. records/s = N / (queue holds N − first send).`,
    );
    out.push('');
  }

  const gen = max.filter((s) => s.generator);
  if (gen.length > 0) {
    out.push('### Is the load generator the bottleneck?');
    out.push('');
    out.push(
      table(
        ['scenario', 'gateway records/s', 'generator µs CPU / record', 'generator capacity on one core (records/s)', 'generator sends that waited for the gateway'],
        gen.map((s) => {
          const g = s.generator as NonNullable<ScenarioResult['generator']>;
          return [idOf(s), n(s.recordsPerSec), n(g.cpuMicrosPerRecord, 2), n(g.cpuMicrosPerRecord > 0 ? 1e6 / g.cpuMicrosPerRecord : undefined), n(g.stalls)];
        }),
      ),
    );
    out.push('');
    out.push('Sends that waited: the NCSA publisher found the gateway\'s receive queue full (ZMQ_XPUB_NODROP) and had to wait — the gateway, not the generator, set the pace. (A PUSH socket\'s send() waits inside zeromq.js, so the cluster runs show 0 here; their generator CPU per record shows the headroom.)');
    out.push('');
  }

  if (r.targets.length > 0) {
    out.push('## Targets');
    out.push('');
    out.push(
      table(
        ['target', 'value', 'result'],
        r.targets.map((t) => [t.name, t.value, t.pass === null ? 'not measured' : t.pass ? '**pass**' : '**FAIL**']),
      ),
    );
    out.push('');
  }

  if (notes) {
    out.push(notes.trim());
    out.push('');
  }

  const profiled = r.scenarios.filter((s) => s.profile);
  if (profiled.length > 0) {
    out.push('## Where the gateway spends its time (CPU profiles)');
    out.push('');
    out.push('Re-runs of the scenarios named below with `node --cpu-prof dist/cli.js run …` (half the records or half the duration of the measured run). Self time: time in the function itself, not its callees; shares are of the busy (non-idle) time of the gateway\'s main thread. libzmq\'s and the kernel\'s own threads do not appear in a V8 profile.');
    for (const s of profiled) {
      const p = s.profile as NonNullable<ScenarioResult['profile']>;
      out.push('');
      out.push(`### \`${idOf(s)}\`: ${n(p.busyMs / 1000, 1)} s busy of ${n(p.totalMs / 1000, 1)} s profiled`);
      out.push('');
      const top = p.byCaller.filter((c) => c.library !== '(idle)').slice(0, 4);
      out.push(`In short: ${top.map((c) => `${c.library} ${n(c.percent, 0)}%`).join(', ')} of the main thread's busy time (Node core and native frames charged to their caller); the busiest single function is \`${p.topFunctions[0]?.name ?? '–'}\` (${n(p.topFunctions[0]?.percent, 1)}%).`);
      out.push('');
      out.push('By library: self time, and the same with Node core and native frames (Buffer allocation and copies, socket writes) charged to the npm package or gateway module that called them:');
      out.push('');
      const callers = new Map(p.byCaller.map((c) => [c.library, c]));
      const libs = [...new Set([...p.byCaller.slice(0, 10).map((c) => c.library), ...p.byLibrary.slice(0, 10).map((l) => l.library)])];
      const self = new Map(p.byLibrary.map((l) => [l.library, l]));
      out.push(
        table(
          ['library / module', 'self ms', 'self share', 'charged to caller ms', 'charged share'],
          libs
            .map((l) => [l, self.get(l), callers.get(l)] as const)
            .sort((a, b) => (b[2]?.selfMs ?? 0) - (a[2]?.selfMs ?? 0))
            .map(([l, sl, cl]) => [l, n(sl?.selfMs), sl ? `${n(sl.percent, 1)}%` : '–', n(cl?.selfMs), cl ? `${n(cl.percent, 1)}%` : '–']),
        ),
      );
      out.push('');
      out.push('Top functions (self time):');
      out.push('');
      out.push(table(['function', 'library', 'self ms', 'share'], p.topFunctions.slice(0, 20).map((f) => [`\`${f.name}\``, f.library, n(f.selfMs), `${n(f.percent, 1)}%`])));
    }
    out.push('');
  }

  out.push('## What the numbers mean');
  out.push('');
  out.push('- **records/s** at maximum rate: the generator pushes N records as fast as the receiver takes them; the run ends when the broker holds all N (Kafka: the topics\' high-water marks; RabbitMQ: the queue\'s message count, polled every 50 ms; NDJSON, where messages are not records: the moment the queue\'s message count or the topics\' high-water marks first showed their final value, final once the gateway\'s \`zeek_gateway_sink_acknowledged_total\` reached N). records/s = N / (that moment − first send). For fan-out, when both brokers hold all N.');
  out.push('- **MB/s**: JSON bytes of the records as Zeek writes them (envelope, headers and framing not counted) per second.');
  out.push('- **gateway / ceiling**: records/s divided by the lowest of the scenario\'s ceilings (ingress ceiling and the broker ceiling(s)), all measured in this run with the same records.');
  out.push('- **CPU s / M records**: the gateway process\'s CPU seconds (user + system, all threads: `zeek_gateway_process_cpu_seconds_total` from /metrics before and after) per million records. **gateway cores**: those CPU seconds per wall second.');
  out.push('- **peak RSS**: VmHWM of the gateway process (/proc/<pid>/status) at the end of the run: the most resident memory it ever had.');
  out.push('- **verified at the broker**: after each run a consumer reads every record back from the broker and matches it byte for byte (inside the tagged envelope) against the replay plan: lost, duplicated and foreign records are counted; ✓ means every record arrived exactly as often as it was sent.');
  out.push('- **machine busy**: all cores, all processes (/proc/stat) during the run — the machine is shared, and this says how loud the neighbours were.');
  out.push('');

  const errors = r.scenarios.filter((s) => s.error || s.earlierErrors);
  if (errors.length > 0) {
    out.push('## Errors and retried runs');
    out.push('');
    const first = (e: string): string => e.split('\n').slice(0, 2).join(' ');
    for (const s of errors) {
      if (s.error) out.push(`- \`${s.id}\` failed after ${s.attempts ?? 1} attempt(s): ${first(s.error)}`);
      for (const e of s.earlierErrors ?? []) out.push(`- \`${s.id}\` attempt failed and was re-run: ${first(e)}`);
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
