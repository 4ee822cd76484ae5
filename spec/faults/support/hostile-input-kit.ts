import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import { resolveKafkaJars } from '../../../lib/broker/kafka-jars.js';
import type { HeaderLine } from './hostile-catalogue.js';

/**
 * A record as the Java console producer writes it. Java clients (unlike kafkajs) can write a
 * header whose value is null, so this is how the hostile-input spec gets one onto the topic.
 */
export interface JavaRecord {
  key: string;
  /** null writes a record without a value. */
  value: string | null;
  /** [name, value]; a null value is a header without a value. */
  headers: Array<[string, string | null]>;
}

const NULL = '<NULL>';

/**
 * Writes records with Apache Kafka's own console producer (the broker's jars), acks=all.
 * Keys, header names and values must not contain the separators `|`, `#`, `,` and `:` (values
 * may); none may contain a line break.
 */
export async function produceWithJava(
  bootstrap: string,
  topic: string,
  records: JavaRecord[],
): Promise<void> {
  const lines = records.map(({ key, value, headers }) => {
    const headerText = headers.map(([name, text]) => `${name}:${text ?? NULL}`).join(',');
    return `${headerText}|${key}#${value ?? NULL}`;
  });
  const child = spawn(
    'java',
    [
      '-cp',
      join(resolveKafkaJars(), '*'),
      'kafka.tools.ConsoleProducer',
      '--bootstrap-server',
      bootstrap,
      '--topic',
      topic,
      '--producer-property',
      'acks=all',
      '--property',
      'parse.key=true',
      '--property',
      'key.separator=#',
      '--property',
      'parse.headers=true',
      '--property',
      'headers.delimiter=|',
      '--property',
      'headers.separator=,',
      '--property',
      'headers.key.separator=:',
      '--property',
      `null.marker=${NULL}`,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stdin.end(`${lines.join('\n')}\n`);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the Java console producer failed (exit ${code}): ${output}`);
}

/**
 * The values of one header, as the broker holds them. kafkajs (the reader here too) builds a
 * header object with `obj[name] === undefined` checks, so a header named after an
 * Object.prototype member (`constructor`, `toString`, `__proto__`) reads back as an array that
 * starts with that inherited member: only Buffers and nulls come from the wire.
 */
export function headerValues(message: KafkaMessage, name: string): Array<string | null> {
  const headers: IHeaders = message.headers ?? {};
  if (!Object.prototype.hasOwnProperty.call(headers, name)) return [];
  const raw: unknown = headers[name];
  const list: unknown[] = Array.isArray(raw) ? raw : [raw];
  return list
    .filter((value) => value === null || Buffer.isBuffer(value))
    .map((value) => (value === null ? null : (value as Buffer).toString('latin1')));
}

/**
 * Header lines (see HeaderLine) as kafkajs writes them: an object with own properties even for
 * names such as `__proto__`, a repeated name as an array of its values in order.
 */
export function ownHeaders(lines: HeaderLine[]): IHeaders {
  const grouped = new Map<string, Array<string | Buffer>>();
  for (const [name, value] of lines) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  const headers: IHeaders = {};
  for (const [name, values] of grouped) {
    const value = values.length === 1 ? values[0] : values;
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return headers;
}

/**
 * Produces each message in a request of its own (acks=all): a request's messages for one
 * partition form one record batch, which must stay under the broker's message.max.bytes.
 */
export async function produceOneByOne(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const message of messages) await producer.send({ topic, acks: -1, messages: [message] });
  } finally {
    await producer.disconnect();
  }
}
