import { expect } from 'chai';
import { AssignerProtocol, type Kafka, type Message } from 'kafkajs';
import { join } from 'node:path';
import { projectRoot } from '../../lib/project-root.js';
import {
  committedOffsets,
  createServiceTopics,
  endOffsets,
  randomName,
  testKafka,
  withAdmin,
} from '../integration/support/kafka.js';
import { produceAll, waitForCommitsAtEnd } from '../integration/support/produce.js';
import { ServiceProcess } from '../integration/support/service-process.js';
import { header, readTopic, sleep } from '../integration/support/topic-reader.js';
import { expectCommitInvariants, watchServiceRun, type CommitWatcher } from './support/commit-watcher.js';
import { recordScenario } from './support/report.js';

const EVENTS = 24_000;
const PARTITIONS = 6;
/** Every 100th event breaks the schema: it must end in the DLQ, not in the output. */
const isInvalid = (i: number) => i % 100 === 99;

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** The group as the broker sees it: its state and each member's partitions, by client id. */
async function describeGroup(kafka: Kafka, groupId: string, topic: string) {
  const { groups } = await withAdmin(kafka, (admin) => admin.describeGroups([groupId]));
  const group = groups[0]!;
  const members = new Map<string, number[]>();
  for (const member of group.members) {
    const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    members.set(
      member.clientId,
      [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b),
    );
  }
  return { state: group.state, members };
}

/**
 * Fault scenario: scale-out and rebalances under load. Three service processes share one
 * group on a 6-partition topic, started one after the other; mid-run one is SIGKILLed and a
 * new one started, then another is stopped with SIGTERM (it must drain and exit 0). Read back
 * by an independent consumer: every valid event is in the output, every invalid one in the
 * DLQ, and each partition's committed offset ends at its end offset. Re-deliveries after the
 * kill show up as duplicates, which at-least-once allows and the report counts.
 */
describe('fault: scale-out and rebalances across service processes', function () {
  this.timeout(300_000);
  let kafka: Kafka;
  const services: ServiceProcess[] = [];
  let watcher: CommitWatcher | undefined;

  before(() => (kafka = testKafka()));
  after(async () => {
    await watcher?.close();
    for (const service of services) service.kill('SIGKILL');
    await Promise.all(services.map((service) => service.exited));
  });

  it('loses nothing while members join, crash, get replaced and leave', async () => {
    const started = Date.now();
    const names = await createServiceTopics(kafka, PARTITIONS);
    const groupId = randomName('group');
    const keys = Array.from({ length: EVENTS }, (_, i) => `event-${i}`);
    const validKeys = keys.filter((_, i) => !isInvalid(i));
    const invalidKeys = keys.filter((_, i) => isInvalid(i));
    const messages: Message[] = keys.map((key, i) => ({
      key,
      value: JSON.stringify(
        isInvalid(i) ? (i % 200 === 99 ? { Id: '' } : { name: 'no id' }) : { Id: `id-${i}` },
      ),
    }));
    await produceAll(kafka, names.source, messages);
    const ends = await endOffsets(kafka, names.source);
    const total = (offsets: Map<number, string>) =>
      [...offsets.values()].reduce((sum, offset) => sum + Math.max(0, Number(offset)), 0);
    expect(total(ends)).to.equal(EVENTS);
    expect(ends.size).to.equal(PARTITIONS);
    watcher = await watchServiceRun(kafka, groupId, names);

    const start = (name: string) => {
      const service = new ServiceProcess({
        KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
        KAFKA_CLIENT_ID: name,
        SERVICE_NAME: name,
        KAFKA_TOPIC: names.source,
        KAFKA_GROUP_ID: groupId,
        OUTPUT_TOPIC: names.output,
        DLQ_TOPIC: names.dlq,
        METRICS_PORT: '0',
        PIPELINE: join(projectRoot(), 'spec', 'faults', 'fixtures', 'flaky-pipeline.js'),
        FAULT_LATENCY_MIN_MS: '5',
        FAULT_LATENCY_MAX_MS: '15',
        FAULT_FAILURE_RATE: '0.05',
        // Few workers per process: each process's pace is bounded by the pipeline's latency,
        // so the backlog outlasts every step of the scenario whatever the machine.
        WORKER_POOL_SIZE: '4',
        QUEUE_BUFFER_SIZE: '200',
        // Enough retries that an injected failure never sends a valid event to the DLQ.
        RETRY_MAX_ATTEMPTS: '8',
        RETRY_BASE_DELAY_MS: '20',
        RETRY_MAX_DELAY_MS: '500',
        KAFKA_SESSION_TIMEOUT_MS: '10000',
      });
      services.push(service);
      return service;
    };
    const step = (what: string) =>
      console.log(`      +${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
    const joined = (service: ServiceProcess) =>
      service.waitForLog((line) => line.message === 'Joined the consumer group', 60_000);
    const settled = async () => total(await committedOffsets(kafka, groupId, names.source));
    const progressBy = async (count: number) => {
      const target = (await settled()) + count;
      await waitFor(`${count} more events settled`, async () => (await settled()) >= target);
    };
    const groupOf = async (clientIds: string[]) => {
      let last: Awaited<ReturnType<typeof describeGroup>> | undefined;
      await waitFor(`a stable group of ${clientIds.join(', ')}`, async () => {
        last = await describeGroup(kafka, groupId, names.source);
        const members = [...last.members.keys()].sort();
        return last.state === 'Stable' && JSON.stringify(members) === JSON.stringify([...clientIds].sort());
      });
      return last!.members;
    };
    const expectFullAssignment = (members: Map<string, number[]>) => {
      const all = [...members.values()].flat().sort((a, b) => a - b);
      expect(all, `assignment ${JSON.stringify([...members])}`).to.deep.equal(
        Array.from({ length: PARTITIONS }, (_, p) => p),
      );
      for (const [member, partitions] of members)
        expect(partitions.length, `${member}'s partitions`).to.be.greaterThan(0);
    };

    // Staggered start: A alone, then B, then C, each joining while the others work.
    step('backlog produced; starting A');
    const a = start('scale-out-a');
    await joined(a);
    await progressBy(2000);
    step('starting B');
    const b = start('scale-out-b');
    await joined(b);
    await progressBy(1000);
    step('starting C');
    const c = start('scale-out-c');
    await joined(c);
    const threeMembers = await groupOf(['scale-out-a', 'scale-out-b', 'scale-out-c']);
    expectFullAssignment(threeMembers);
    await progressBy(1000);

    // B dies without a word; D takes its place. B's partitions wait for its session to
    // expire, then go to the others; whatever B had processed but not committed comes again.
    const settledAtKill = await settled();
    step(`SIGKILL to B (${settledAtKill} settled), starting D`);
    b.kill('SIGKILL');
    const d = start('scale-out-d');
    await joined(d);
    const afterKill = await groupOf(['scale-out-a', 'scale-out-c', 'scale-out-d']);
    expectFullAssignment(afterKill);
    await progressBy(1000);

    // C leaves gracefully: it drains, commits, leaves the group and exits 0.
    const settledAtTerm = await settled();
    step(`SIGTERM to C (${settledAtTerm} settled)`);
    c.kill('SIGTERM');
    const cExit = await c.exited;
    expect(cExit.code, `C's exit; stderr: ${c.stderr.join('')}`).to.equal(0);
    const cShutDown = c.lines.find((line) => line.message === 'Shut down');
    expect(cShutDown, 'C logged its shutdown').to.not.equal(undefined);
    const lastTwo = await groupOf(['scale-out-a', 'scale-out-d']);
    expectFullAssignment(lastTwo);
    // The faults hit a running backlog, not a finished one.
    expect(settledAtTerm, 'events settled when C was stopped').to.be.lessThan(EVENTS);

    step('A and D own every partition; waiting for the commits to reach the end');
    const { committed } = await waitForCommitsAtEnd(
      async () => ({ committed: await committedOffsets(kafka, groupId, names.source), ends }),
      180_000,
    );
    expect(Object.fromEntries(committed), 'committed offsets at the end offsets').to.deep.equal(
      Object.fromEntries(ends),
    );

    step('commits at the end offsets; stopping A and D');
    // The last two stop gracefully too; then the output and the DLQ are final.
    a.kill('SIGTERM');
    d.kill('SIGTERM');
    const [aExit, dExit] = await Promise.all([a.exited, d.exited]);
    expect(aExit.code, `A's exit; stderr: ${a.stderr.join('')}`).to.equal(0);
    expect(dExit.code, `D's exit; stderr: ${d.stderr.join('')}`).to.equal(0);
    expect((await b.exited).signal).to.equal('SIGKILL');
    const verdict = await watcher.stop();
    watcher = undefined;

    const output = await readTopic(kafka, names.output, total(await endOffsets(kafka, names.output)), {
      timeoutMs: 120_000,
    });
    const dead = await readTopic(kafka, names.dlq, total(await endOffsets(kafka, names.dlq)), {
      timeoutMs: 60_000,
    });
    const outputKeys = new Set(output.map((m) => m.key!.toString()));
    const deadKeys = new Set(dead.map((m) => m.key!.toString()));
    const missingValid = validKeys.filter((key) => !outputKeys.has(key));
    const missingInvalid = invalidKeys.filter((key) => !deadKeys.has(key));
    const lost = missingValid.length + missingInvalid.length;
    const duplicates = output.length - outputKeys.size + (dead.length - deadKeys.size);
    recordScenario({
      scenario: 'scale-out and rebalance',
      events: EVENTS,
      faults:
        '3 processes started staggered, 1 SIGKILLed and replaced mid-run, 1 stopped by SIGTERM; ' +
        'flaky pipeline 5-15 ms, 5 % transient failures',
      lost,
      duplicates,
      // One process is SIGKILLed; the SIGTERMed one drains and commits.
      duplicatesPerKill: duplicates,
      watcher: verdict.summary,
      notes:
        `${invalidKeys.length} invalid events; settled at kill ${settledAtKill}, at SIGTERM ${settledAtTerm}; ` +
        `C drained: ${String(cShutDown?.drained)}; ${Math.round((Date.now() - started) / 1000)} s`,
    });

    expect(
      missingValid.slice(0, 10),
      `${missingValid.length} valid events missing from the output`,
    ).to.deep.equal([]);
    expect(
      missingInvalid.slice(0, 10),
      `${missingInvalid.length} invalid events missing from the DLQ`,
    ).to.deep.equal([]);
    expect(lost).to.equal(0);
    expectCommitInvariants(verdict);
    // Nothing in the wrong place: no invalid event forwarded, no valid one dead-lettered.
    expect(invalidKeys.filter((key) => outputKeys.has(key))).to.deep.equal([]);
    const invalidSet = new Set(invalidKeys);
    expect([...deadKeys].filter((key) => !invalidSet.has(key))).to.deep.equal([]);
    expect(new Set(dead.map((m) => header(m, 'error_stage')))).to.deep.equal(new Set(['validate']));
    expect(new Set(dead.map((m) => header(m, 'error_code')))).to.deep.equal(new Set(['SCHEMA_VIOLATION']));
  });
});
