import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import { seededRandom } from '../../loadtest/random.js';
import { natsUrl } from '../integration/support/nats.js';
import { ServiceProcess } from '../integration/support/service-process.js';
import { sleep } from '../integration/support/topic-reader.js';
import { KEY_HEADER, keyOf, readStream, useNatsFaultRun } from './support/nats-fault-kit.js';
import { recordScenario } from './support/report.js';

/**
 * The crash loop on NATS JetStream: the compiled service (BROKER=nats) is SIGKILLed at five
 * random moments while it works through a backlog with a flaky pipeline, and restarted each
 * time. An independent reader then reads the output and dead-letter streams whole and checks
 * that every published message came out (valid ones to the output, bad ones to the DLQ), that
 * nothing came out that was not published, and that the consumer holds nothing unacked.
 * Needs only the NATS server (NATS_URL, default the local one); build first (npm run build).
 */

type Kind = 'valid' | 'malformed' | 'invalid';

const TOTAL = 50_000;
const MALFORMED = 500;
const SCHEMA_INVALID = 500;
const KILLS = 5;
const CREDITS = 1000 + 100; // QUEUE_BUFFER_SIZE + WORKER_POOL_SIZE below

const MALFORMED_VALUES = ['{"Id": "truncated', 'not json at all', ''];
const SCHEMA_INVALID_VALUES = [{ Id: '' }, { name: 'no id' }, { Id: 42 }, ['Id']];

describe('fault: crash loop on NATS JetStream (SIGKILL at random moments)', function () {
  this.timeout(540_000);
  const run = useNatsFaultRun();
  const { services, streams } = run;

  it('loses nothing across five SIGKILLs and leaves nothing unacked', async () => {
    const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const random = seededRandom(seed);
    const id = randomBytes(6).toString('hex');
    const names = {
      stream: `crash-${id}`,
      subject: `crash-${id}.events`,
      output: `crash-out-${id}.valid`,
      dlq: `crash-dlq-${id}.dead`,
      durable: `crash-${id}`,
    };
    streams.push(names.stream, `crash-out-${id}_valid`, `crash-dlq-${id}_dead`);

    const kinds: Kind[] = [
      ...Array<Kind>(TOTAL - MALFORMED - SCHEMA_INVALID).fill('valid'),
      ...Array<Kind>(MALFORMED).fill('malformed'),
      ...Array<Kind>(SCHEMA_INVALID).fill('invalid'),
    ];
    shuffle(kinds, random);
    const keys = kinds.map((kind, i) => `${kind}-${i}`);

    const env = {
      BROKER: 'nats',
      NATS_URL: natsUrl(),
      NATS_STREAM: names.stream,
      NATS_DURABLE: names.durable,
      NATS_ACK_WAIT_MS: '2000',
      OUTPUT_TOPIC: names.output,
      DLQ_TOPIC: names.dlq,
      CREATE_TOPICS: 'true',
      PIPELINE: join(projectRoot(), 'spec', 'faults', 'fixtures', 'flaky-pipeline.js'),
      FAULT_LATENCY_MIN_MS: '1',
      FAULT_LATENCY_MAX_MS: '20',
      FAULT_FAILURE_RATE: '0.05',
      WORKER_POOL_SIZE: '100',
      QUEUE_BUFFER_SIZE: '1000',
      RETRY_MAX_ATTEMPTS: '10',
      RETRY_BASE_DELAY_MS: '20',
      RETRY_MAX_DELAY_MS: '200',
    };
    const start = () => {
      const service = new ServiceProcess(env);
      services.push(service);
      return service;
    };

    // The whole backlog is in the stream before the first run starts (the runs create the
    // output and dead-letter streams and the consumer): a run consuming while it is still
    // published could be past every kill moment by the time the kills begin.
    console.log(`      seed ${seed} (FAULT_SEED=${seed} repeats this run)`);
    await run.jsm.streams.add({ name: names.stream, subjects: [`${names.stream}.>`] });
    await publish(run.js, names.subject, kinds, keys);
    const acked = async () =>
      (await run.jsm.consumers.info(names.stream, names.durable)).ack_floor.stream_seq;

    // Kill moments: once the ack floor passed a random share of the backlog, and the run ran a
    // random while. The shares stop at 70 %, and the random while runs alongside the wait for
    // the share, so even a fast run has backlog left at its kill.
    const targets = Array.from({ length: KILLS }, () => 0.05 + random() * 0.65).sort((a, b) => a - b);
    const killedAt: number[] = [];
    for (const [i, target] of targets.entries()) {
      const service = start();
      await service.waitForLog((line) => line.message === 'Consuming', 60_000);
      const runsAtLeastUntil = Date.now() + random() * 300;
      let exited = false;
      void service.exited.then(() => (exited = true));
      while ((await acked()) < Math.floor(target * TOTAL) || Date.now() < runsAtLeastUntil) {
        expect(exited, `the service exited before kill ${i + 1}: ${service.stderr.join('')}`).to.equal(false);
        await sleep(50);
      }
      const floor = await acked();
      service.kill('SIGKILL');
      expect((await service.exited).signal).to.equal('SIGKILL');
      expect(floor, `kill ${i + 1} came after the end`).to.be.below(TOTAL);
      killedAt.push(floor);
    }

    const last = start();
    const deadline = Date.now() + 300_000;
    for (;;) {
      const info = await run.jsm.consumers.info(names.stream, names.durable);
      if (info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq === TOTAL) break;
      expect(Date.now(), `backlog not settled: ${JSON.stringify(info)}`).to.be.below(deadline);
      await sleep(200);
    }

    // The independent reader: every message the output and DLQ streams hold, by its key header.
    const output = await readAll(run.js, run.jsm, names.output);
    const dead = await readAll(run.js, run.jsm, names.dlq);
    const published = new Map(keys.map((key, i) => [key, kinds[i]!]));
    const copies = new Map<string, number>();
    const stray: string[] = [];
    const misrouted: string[] = [];
    for (const [where, keysOut] of [
      ['output', output],
      ['dlq', dead],
    ] as const) {
      for (const key of keysOut) {
        const kind = published.get(key);
        if (kind === undefined) stray.push(`${where}: ${key}`);
        else if ((kind === 'valid') !== (where === 'output')) misrouted.push(`${where}: ${key}`);
        copies.set(key, (copies.get(key) ?? 0) + 1);
      }
    }
    const lost = keys.filter((key) => !copies.has(key));
    const duplicates = [...copies.values()].reduce((sum, n) => sum + n - 1, 0);

    last.kill('SIGTERM');
    const lastExit = await last.exited;

    recordScenario({
      scenario: 'crash loop (NATS JetStream)',
      events: TOTAL,
      faults: `${KILLS} SIGKILL+restart, ${MALFORMED} malformed + ${SCHEMA_INVALID} schema-invalid, 1-20 ms latency, 5 % transient failures`,
      lost: lost.length,
      duplicates,
      duplicatesPerKill: Math.round(duplicates / KILLS),
      notes: `seed ${seed}; kills at ack floor ${killedAt.join('/')} of ${TOTAL}; output ${output.length}, dlq ${dead.length}; misrouted ${misrouted.length}; stray ${stray.length}`,
    });

    expect(stray.slice(0, 20), `${stray.length} stray`).to.deep.equal([]);
    expect(lost.slice(0, 20), `${lost.length} lost`).to.deep.equal([]);
    expect(misrouted.slice(0, 20), `${misrouted.length} misrouted`).to.deep.equal([]);
    // A copy is written again only for a message a killed run took and had not acked yet, and
    // a run takes at most the credits' worth; every copy beyond is a bug.
    expect(duplicates).to.be.at.most(KILLS * CREDITS);
    expect(lastExit).to.deep.equal({ code: 0, signal: null });
  });
});

async function publish(js: JetStreamClient, subject: string, kinds: Kind[], keys: string[]): Promise<void> {
  const valueOf = (kind: Kind, i: number): string => {
    if (kind === 'malformed') return MALFORMED_VALUES[i % MALFORMED_VALUES.length]!;
    if (kind === 'invalid') return JSON.stringify(SCHEMA_INVALID_VALUES[i % SCHEMA_INVALID_VALUES.length]);
    return JSON.stringify({ Id: keys[i], n: i });
  };
  for (let from = 0; from < kinds.length; from += 500) {
    const acks = kinds.slice(from, from + 500).map((kind, offset) => {
      const i = from + offset;
      const headers = natsHeaders();
      headers.set(KEY_HEADER, keys[i]!);
      return js.publish(subject, valueOf(kind, i), { headers });
    });
    await Promise.all(acks);
  }
}

/** The key header of every message the stream taking `subject` holds (see readStream). */
async function readAll(js: JetStreamClient, jsm: JetStreamManager, subject: string): Promise<string[]> {
  const keys: string[] = [];
  await readStream(js, jsm, subject, (message) => keys.push(keyOf(message)));
  return keys;
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
