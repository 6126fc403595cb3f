import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaAddressProblem } from '../../../../src/sinks/kafka/address.js';

test('Kafka addresses: legal topic names only', () => {
  for (const topic of ['zeek-conn', 'a', 'zeek.dns_2', 'x'.repeat(249), '...', '.a']) {
    assert.equal(kafkaAddressProblem({ target: topic }), undefined, topic);
  }
  for (const topic of ['', '.', '..', 'x'.repeat(250), 'zeek conn', 'zeek/conn', 'zeek:conn', 'zéek']) {
    assert.match(kafkaAddressProblem({ target: topic }) ?? '', /is not a legal Kafka topic name/, JSON.stringify(topic));
  }
});
