import convict from 'convict';
import { fieldNameMapProblem } from '../zeek/json/field-names.js';

/** Custom convict formats shared by several config sections. */
const ENDPOINT = /^(tcp|ipc|inproc|ws|wss|tipc|pgm|epgm|udp):\/\/\S+$/;

export function registerFormats(): void {
  convict.addFormat({
    name: 'zmq-endpoints',
    validate(value: unknown) {
      if (!Array.isArray(value) || value.length === 0) throw new Error('must be a non-empty list of ZeroMQ endpoints');
      for (const v of value) {
        if (typeof v !== 'string' || !ENDPOINT.test(v)) {
          throw new Error(`${JSON.stringify(v)} is not a ZeroMQ endpoint like tcp://127.0.0.1:12345`);
        }
      }
    },
    coerce: (v: unknown) => (typeof v === 'string' ? splitList(v) : v),
  });
  convict.addFormat({
    name: 'string-list',
    validate(value: unknown) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error('must be a list of strings');
    },
    coerce: (v: unknown) => (typeof v === 'string' ? splitList(v) : v),
  });
  convict.addFormat({
    name: 'field-name-map',
    validate(value: unknown) {
      const problem = fieldNameMapProblem(value);
      if (problem) throw new Error(problem);
    },
  });
  convict.addFormat({
    name: 'positive-int',
    validate(value: unknown) {
      if (!Number.isInteger(value) || (value as number) <= 0) throw new Error('must be a positive integer');
    },
    coerce: (v: unknown) => (typeof v === 'string' ? Number(v) : v),
  });
}

/** Environment variables give lists as comma-separated text. */
function splitList(v: string): string[] {
  return v === '' ? [] : v.split(',').map((x) => x.trim());
}

