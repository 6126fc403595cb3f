import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingTable, type SinkAddressing } from '../../../src/routing/table.js';
import type { RoutingConfig } from '../../../src/routing/config.js';
import { validateRoutes } from '../../../src/routing/config.js';
import { compileGlob } from '../../../src/routing/glob.js';
import { addressKeys } from '../../../src/config/sinks.js';
import { amqpKind } from '../../../src/sinks/amqp/index.js';
import { consoleKind } from '../../../src/sinks/console/index.js';
import { kafkaKind } from '../../../src/sinks/kafka/index.js';

const sinks = new Map<string, SinkAddressing>([
  ['rabbit', { name: 'rabbit', envelope: 'tagged', defaults: { exchange: 'zeek', routingKey: 'zeek.{path}' }, address: amqpKind.address }],
  ['kafka', { name: 'kafka', envelope: 'tagged', defaults: { topic: 'zeek-{path}', keyField: '' }, address: kafkaKind.address }],
  ['out', { name: 'out', envelope: 'raw', defaults: {}, address: consoleKind.address }],
]);

function table(partial: Partial<RoutingConfig>): RoutingTable {
  return new RoutingTable(
    { include: [], exclude: [], stripFilterSuffix: false, routes: [], defaultRoute: null, ...partial },
    sinks,
  );
}

test('globs: names, * and ? only, anchored', () => {
  assert.ok(compileGlob('dns*').test('dns'));
  assert.ok(compileGlob('dns*').test('dns-2'));
  assert.ok(!compileGlob('dns*').test('mdns'));
  assert.ok(compileGlob('conn').test('conn'));
  assert.ok(!compileGlob('conn').test('conn_long'));
  assert.ok(compileGlob('x509?').test('x5091'));
  assert.ok(!compileGlob('a.b').test('axb'));
});

test('first matching route wins; sink defaults fill in the address', () => {
  const t = table({
    routes: [
      { match: ['conn'], destinations: [{ sink: 'rabbit' }] },
      { match: ['*'], destinations: [{ sink: 'kafka' }] },
    ],
  });
  assert.deepEqual(t.plan('conn').destinations, [
    { sink: 'rabbit', envelope: 'tagged', target: 'zeek', routingKey: 'zeek.conn', route: '#1' },
  ]);
  assert.deepEqual(t.plan('dns').destinations, [
    { sink: 'kafka', envelope: 'tagged', target: 'zeek-dns', keyField: undefined, route: '#2' },
  ]);
});

test('continue lets later routes add destinations (fan-out by route)', () => {
  const t = table({
    routes: [
      { match: ['conn'], destinations: [{ sink: 'rabbit' }], continue: true },
      { match: ['*'], destinations: [{ sink: 'kafka' }] },
    ],
  });
  assert.deepEqual(t.plan('conn').destinations.map((d) => d.sink), ['rabbit', 'kafka']);
});

test('destination options beat route options, which beat sink defaults', () => {
  const t = table({
    routes: [
      {
        name: 'web',
        match: ['http'],
        envelope: 'raw',
        routingKey: 'route.{path}',
        topic: 'route-{path}',
        keyField: 'uid',
        destinations: [{ sink: 'rabbit' }, { sink: 'rabbit', routingKey: 'dest.{rawPath}', envelope: 'tagged' }, { sink: 'kafka' }],
      },
    ],
  });
  assert.deepEqual(t.plan('http').destinations, [
    { sink: 'rabbit', envelope: 'raw', target: 'zeek', routingKey: 'route.http', route: 'web' },
    { sink: 'rabbit', envelope: 'tagged', target: 'zeek', routingKey: 'dest.http', route: 'web' },
    { sink: 'kafka', envelope: 'raw', target: 'route-http', keyField: 'uid', route: 'web' },
  ]);
});

test('route excludes, global include/exclude and the default route', () => {
  const t = table({
    include: ['conn', 'dns*', 'http', 'files'],
    exclude: ['files'],
    routes: [{ match: ['dns*'], exclude: ['dns-3'], destinations: [{ sink: 'kafka' }] }],
    defaultRoute: { destinations: [{ sink: 'out' }] },
  });
  assert.equal(t.plan('ssl').unrouted, 'not-included');
  assert.equal(t.plan('files').unrouted, 'excluded');
  assert.deepEqual(t.plan('dns-2').destinations.map((d) => d.sink), ['kafka']);
  assert.deepEqual(t.plan('dns-3').destinations.map((d) => d.sink), ['out']);
  assert.deepEqual(t.plan('conn').destinations, [{ sink: 'out', envelope: 'raw', target: 'conn', route: 'default' }]);
});

test('without a default route, unmatched paths are unrouted', () => {
  const t = table({ routes: [{ match: ['conn'], destinations: [{ sink: 'out' }] }] });
  assert.equal(t.plan('dns').unrouted, 'no-route');
  assert.equal(t.plan('dns').destinations.length, 0);
});

test('stripFilterSuffix routes dns-2 as dns; {rawPath} keeps the original', () => {
  const t = table({
    stripFilterSuffix: true,
    routes: [{ match: ['dns'], destinations: [{ sink: 'rabbit', routingKey: '{path}/{rawPath}' }] }],
  });
  const p = t.plan('dns-2');
  assert.equal(p.path, 'dns');
  assert.equal(p.destinations[0]!.routingKey, 'dns/dns-2');
  assert.equal(table({ stripFilterSuffix: true }).plan('x509').path, 'x509');
});

test('route validation names every wrong key', () => {
  const errors = validateRoutes(
    [
      { match: [], destinations: [{ sink: 'nope' }] },
      { match: ['conn'], destinations: [{ sink: 'rabbit', routingKey: 'x.{host}', envelope: 'xml', colour: 1 }], bogus: true },
      { match: ['dns'] },
    ],
    { destinations: [] },
    new Set(sinks.keys()),
    addressKeys(),
  );
  assert.deepEqual(errors, [
    'routing.routes[0].match: must be a non-empty array of paths or globs',
    'routing.routes[0].destinations[0].sink: unknown sink "nope" (configured: rabbit, kafka, out)',
    'routing.routes[1].bogus: unknown key',
    'routing.routes[1].destinations[0].colour: unknown key',
    'routing.routes[1].destinations[0].envelope: must be one of tagged, raw, inline',
    'routing.routes[1].destinations[0].routingKey: unknown template variable {host}',
    'routing.routes[2].destinations: must be a non-empty array',
    'routing.defaultRoute.destinations: must be a non-empty array',
  ]);
});

test('output options are validated and resolved per destination (destination beats route)', () => {
  const errors = validateRoutes(
    [{ match: ['conn'], scopeSeparator: 1, timestamps: 'iso', destinations: [{ sink: 'rabbit', writeTs: 'yes', timeFields: [1], fieldNameMap: { a: '' }, systemName: 2 }] }],
    null,
    new Set(sinks.keys()),
    addressKeys(),
  );
  assert.deepEqual(errors, [
    'routing.routes[0].scopeSeparator: must be a string',
    'routing.routes[0].timestamps: must be one of epoch, millis, millis-unsigned, iso8601',
    'routing.routes[0].destinations[0].systemName: must be a string',
    'routing.routes[0].destinations[0].writeTs: must be true or false',
    'routing.routes[0].destinations[0].timeFields: must be an array of field names',
    'routing.routes[0].destinations[0].fieldNameMap: must map field names to non-empty new names',
  ]);
  const table = new RoutingTable(
    {
      include: [], exclude: [], stripFilterSuffix: false, defaultRoute: null,
      routes: [{ match: ['conn'], envelope: 'inline', scopeSeparator: '_', destinations: [{ sink: 'out', timestamps: 'iso8601' }, { sink: 'out', scopeSeparator: '.' }] }],
    },
    sinks,
  );
  const [a, b] = table.plan('conn').destinations;
  assert.deepEqual(a!.format, { envelope: 'inline', timestamps: 'iso8601', scopeSeparator: '_' });
  assert.deepEqual(b!.format, { envelope: 'inline', scopeSeparator: '.' });
});
