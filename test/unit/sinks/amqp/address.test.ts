import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amqpAddressProblem } from '../../../../src/sinks/amqp/address.js';

test('AMQP addresses: exchange and routing key of at most 255 bytes of UTF-8', () => {
  assert.equal(amqpAddressProblem({ target: 'zeek', routingKey: 'conn' }), undefined);
  assert.equal(amqpAddressProblem({ target: '', routingKey: 'q'.repeat(255) }), undefined);
  assert.equal(amqpAddressProblem({ target: 'x'.repeat(255), routingKey: 'conn' }), undefined);
  // 127 two-byte characters: 254 bytes; 128: 256
  assert.equal(amqpAddressProblem({ target: 'zeek', routingKey: 'é'.repeat(127) }), undefined);
  assert.equal(amqpAddressProblem({ target: 'zeek', routingKey: 'é'.repeat(128) }), 'routing key of 256 bytes exceeds 255');
  assert.equal(amqpAddressProblem({ target: 'zeek', routingKey: 'k'.repeat(256) }), 'routing key of 256 bytes exceeds 255');
  assert.equal(amqpAddressProblem({ target: 'e'.repeat(300), routingKey: 'conn' }), 'exchange name of 300 bytes exceeds 255');
});
