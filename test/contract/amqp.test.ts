// The transport contract for RabbitMQ (amqplib), against the local broker.
import { amqpKind } from '../../src/sinks/amqp/index.js';
import { defaultAmqpOptions } from '../../src/sinks/amqp/options.js';
import { silentLogger } from '../../src/ops/log.js';
import { AMQP_URL, collectAmqp, declareTestQueue, rabbitCloseConnection, requireRabbitMQ, uniqueName } from '../helpers/brokers.js';
import { freePort } from '../helpers/gateway.js';
import { contractBatch, runTransportContract, type ContractDestination } from './suite.js';

await requireRabbitMQ();
const nothingListens = await freePort();
const createAmqp = await amqpKind.load(defaultAmqpOptions());

runTransportContract('amqp', {
  hasBroker: true,
  // confirmTimeoutMs (the default 15 s), plus a little.
  settleBoundMs: 17_000,
  create: ({ name, unreachable, failFast }) => {
    const o = {
      ...defaultAmqpOptions(),
      url: unreachable ? `amqp://guest:guest@127.0.0.1:${nothingListens}` : AMQP_URL,
      failFast: failFast ?? false,
      mandatory: true,
      connectTimeoutMs: 3000,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000, failoverAfterAttempts: 3 },
    };
    return createAmqp(o, { name, logger: silentLogger() });
  },
  async destination(): Promise<ContractDestination> {
    const exchange = uniqueName('contract-x');
    const queue = await declareTestQueue(exchange, 'conn');
    return {
      address: { target: exchange, routingKey: 'conn' },
      read: async (count, timeoutMs) => (await collectAmqp(queue, { count, timeoutMs })).map((m) => m.content.toString()),
    };
  },
  // mandatory: a record no queue is bound for comes back; an exchange that does not exist is refused.
  async refusal() {
    const dest = await this.destination();
    const [a, b, c, d] = contractBatch(dest, 4);
    const unroutable = { ...b!, address: { ...dest.address, routingKey: 'nowhere' } };
    const noExchange = { ...d!, address: { target: uniqueName('missing'), routingKey: 'conn' } };
    return {
      dest,
      batch: [a!, unroutable, c!, noExchange],
      refused: [
        [unroutable.payload.toString(), 'unroutable'],
        [noExchange.payload.toString(), 'no_exchange'],
      ],
    };
  },
  // The broker closes this transport's connection only (rabbitmqctl close_connection).
  async breakConnection(name) {
    const closed = await rabbitCloseConnection(`zeek-log-gateway:${name}`);
    if (closed !== 1) throw new Error(`expected to close 1 connection named zeek-log-gateway:${name}, closed ${closed}`);
    return { restore: async () => undefined };
  },
});
