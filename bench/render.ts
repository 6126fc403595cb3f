// Re-renders a results file's markdown from its JSON, e.g. after the report's layout changed or to
// add a hand-written analysis:
//   node --import tsx bench/render.ts bench/results/<date>-<host>.json [--notes analysis.md] [--retarget]
// --retarget judges the scenarios again against the current targets (bench/lib/results.ts) and
// writes them into the JSON too, e.g. after a target was added.
// (a peers results file, bench/results/peers-<date>-<host>.json, is rendered as the peers report)
import { readFileSync, writeFileSync } from 'node:fs';
import { renderMarkdown } from './lib/report.js';
import { evaluateTargets, type Results } from './lib/results.js';
import { renderPeersMarkdown } from './peers/report.js';
import { PEERS_SCHEMA, type PeersResults } from './peers/results.js';

const args = process.argv.slice(2);
const json = args.find((a) => a.endsWith('.json'));
const notesAt = args.indexOf('--notes');
if (!json || (notesAt >= 0 && !args[notesAt + 1])) {
  process.stderr.write('usage: node --import tsx bench/render.ts <results.json> [--notes FILE] [--retarget]\n');
  process.exit(2);
}
const results = JSON.parse(readFileSync(json, 'utf8')) as Results | PeersResults;
const notes = notesAt >= 0 ? readFileSync(args[notesAt + 1] as string, 'utf8') : undefined;
if (args.includes('--retarget') && results.schema !== PEERS_SCHEMA) {
  results.targets = evaluateTargets(results.scenarios);
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
}
const md = json.replace(/\.json$/, '.md');
writeFileSync(md, results.schema === PEERS_SCHEMA ? renderPeersMarkdown(results, notes) : renderMarkdown(results, notes));
process.stdout.write(`${md}\n`);
