#!/usr/bin/env node
// Readiness probe for scripts/kafka.sh: a metadata request (admin listTopics) on each listener,
// so "up" only reports ready when plaintext, SSL and every SASL mechanism really answer.
// Usage: node scripts/kafka/ready.mjs CERT_DIR [plaintext-only]
// Exit 0 when all answered; otherwise prints what failed and exits 1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';

const certDir = process.argv[2];
const plaintextOnly = process.argv[3] === 'plaintext-only';
const ca = () => [readFileSync(join(certDir, 'ca.pem'))];
const sasl = (mechanism) => ({ mechanism, username: 'zlg', password: 'zlg-secret' });

const probes = [['PLAINTEXT 9092', { brokers: ['127.0.0.1:9092'] }]];
if (!plaintextOnly) {
  probes.push(['SSL 9093', { brokers: ['127.0.0.1:9093'], ssl: { ca: ca() } }]);
  for (const m of ['plain', 'scram-sha-256', 'scram-sha-512']) {
    probes.push([`SASL_SSL 9094 ${m}`, { brokers: ['127.0.0.1:9094'], ssl: { ca: ca() }, sasl: sasl(m) }]);
  }
}

let failed = 0;
for (const [name, cfg] of probes) {
  const admin = new Kafka({
    ...cfg,
    clientId: 'zlg-ready',
    connectionTimeout: 3000,
    requestTimeout: 5000,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (err) {
    failed++;
    console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
process.exit(failed === 0 ? 0 : 1);
