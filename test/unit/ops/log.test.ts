import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { RateLimitedLog } from '../../../src/ops/log.js';
import { memoryAfterGc } from '../../helpers/memory.js';

/** A logger whose lines are kept as objects. */
function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

test('one line per key and interval, with the count of the suppressed ones on the next', () => {
  const { logger, lines } = capture();
  let now = 0;
  const log = new RateLimitedLog(logger, 1000, () => now);
  for (let i = 0; i < 5; i++) log.warn('a', { i }, 'bad input');
  log.warn('b', {}, 'other');
  now = 1000;
  log.warn('a', { i: 5 }, 'bad input');
  assert.deepEqual(
    lines.map((l) => [l.msg, l.i, l.suppressed]),
    [
      ['bad input', 0, undefined],
      ['other', undefined, undefined],
      ['bad input', 5, 4],
    ],
  );
});

test('keys from the network cannot grow its memory: at most maxKeys are remembered', async () => {
  const log = new RateLimitedLog(pino({ level: 'silent' }), 10_000, () => 0, 1000);
  const key = (i: number): string => `no-exchange:${'x'.repeat(200)}${i}`;
  for (let i = 0; i < 2000; i++) log.warn(key(i), {}, 'x');
  const before = (await memoryAfterGc()).heapUsed;
  // 100,000 distinct keys of 200+ bytes: about 30 MB if all were kept.
  for (let i = 2000; i < 102_000; i++) log.warn(key(i), {}, 'x');
  const grown = (await memoryAfterGc()).heapUsed - before;
  assert.ok(grown < 2 * 1024 * 1024, `heap grew by ${grown} bytes`);
  // The newest keys are still rate-limited.
  const { logger, lines } = capture();
  const small = new RateLimitedLog(logger, 10_000, () => 0, 3);
  for (const k of ['a', 'b', 'c', 'd', 'd', 'a']) small.warn(k, { k }, 'line');
  assert.deepEqual(lines.map((l) => l.k), ['a', 'b', 'c', 'd', 'a'], 'a was forgotten for d, d still limited');
});
