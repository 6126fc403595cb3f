// Re-renders a results file's markdown from its JSON, e.g. after the report's layout changed or to
// add a hand-written analysis:
//   node --import tsx bench/render.ts bench/results/<date>-<host>.json [--notes analysis.md]
import { readFileSync, writeFileSync } from 'node:fs';
import { renderMarkdown } from './lib/report.js';
import type { Results } from './lib/results.js';

const args = process.argv.slice(2);
const json = args.find((a) => a.endsWith('.json'));
const notesAt = args.indexOf('--notes');
if (!json || (notesAt >= 0 && !args[notesAt + 1])) {
  process.stderr.write('usage: node --import tsx bench/render.ts <results.json> [--notes FILE]\n');
  process.exit(2);
}
const results = JSON.parse(readFileSync(json, 'utf8')) as Results;
const notes = notesAt >= 0 ? readFileSync(args[notesAt + 1] as string, 'utf8') : undefined;
const md = json.replace(/\.json$/, '.md');
writeFileSync(md, renderMarkdown(results, notes));
process.stdout.write(`${md}\n`);
