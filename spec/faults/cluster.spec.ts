import { startEphemeralJvmCluster, type JvmCluster } from '../../lib/broker/jvm-cluster.js';
import { electPreferredLeaders } from '../../lib/broker/leader-election.js';
import { increasePartitions, rotatePreferredReplicas } from '../../lib/broker/partition-moves.js';
import { runClusterScenario } from './support/cluster-scenario.js';

/**
 * Fault scenarios on a 3-broker KRaft cluster (every node broker and controller, topics with
 * three replicas, min.insync.replicas 2), started for this file alone: the rest of the suite
 * keeps its single broker. Each scenario moves partition leaders while two service processes
 * work through live traffic with a slow pipeline, SIGKILLs one of them shortly after every
 * move, and then checks that nothing was lost and that every commit covered finished work.
 * A leader move is where kafkajs's fetchers rejoin the group from inside a fetch while other
 * brokers' fetches, built before the rejoin, are still on their way.
 */
describe('fault: leader moves on a 3-broker cluster', function () {
  this.timeout(300_000);
  let cluster: JvmCluster | undefined;
  let cleanups: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(240_000);
    const started = Date.now();
    cluster = await startEphemeralJvmCluster({ log: (line) => console.log(`      ${line}`) });
    console.log(`      3-broker cluster at ${cluster.bootstrap}, ready in ${Date.now() - started} ms`);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups = [];
  });
  after(async () => {
    await cluster?.stop();
  });

  it('loses nothing through a rolling restart of every broker (controlled shutdowns)', async () => {
    await runClusterScenario(
      cluster!,
      {
        name: 'rolling restart',
        partitions: 6,
        async fault({ cluster, leaders, killAfterMove, inSync, steady, step }) {
          for (const node of cluster.nodes) {
            const before = await leaders.leaders();
            step(`controlled shutdown of broker ${node.nodeId}`);
            const stopped = node.stop();
            await killAfterMove(before, `broker ${node.nodeId} shutdown`);
            await stopped;
            step(`broker ${node.nodeId} stopped`);
            await node.start();
            step(`broker ${node.nodeId} answers`);
            await inSync(node.nodeId);
            step(`broker ${node.nodeId} back in sync`);
            await steady(3000);
          }
          return 'every broker in turn: SIGTERM (controlled shutdown), restart, back in the ISR';
        },
      },
      cleanups,
    );
  });

  it('loses nothing when a broker is SIGKILLed and returns', async () => {
    await runClusterScenario(
      cluster!,
      {
        name: 'broker SIGKILLed',
        partitions: 6,
        async fault({ cluster, leaders, killAfterMove, inSync, random, step }) {
          const before = await leaders.leaders();
          // A broker that leads some of the source topic's partitions, so its death moves them.
          const leading = [...new Set(before.values())].filter((leader) => leader > 0);
          const victim = leading[Math.floor(random() * leading.length)];
          const node = cluster.nodes.find((n) => n.nodeId === victim)!;
          step(`SIGKILL to broker ${node.nodeId}`);
          await node.kill();
          await killAfterMove(before, `broker ${node.nodeId} killed`);
          await node.start();
          await inSync(node.nodeId);
          step(`broker ${node.nodeId} back in sync`);
          return `broker ${node.nodeId} SIGKILLed, fenced after its session, restarted, back in the ISR`;
        },
      },
      cleanups,
    );
  });

  it('loses nothing while preferred-leader elections move every leader and back', async () => {
    await runClusterScenario(
      cluster!,
      {
        name: 'preferred-leader elections',
        partitions: 6,
        async fault({ cluster, admin, topics, leaders, killAfterMove, steady, step }) {
          // Three rotations of the replica lists make each replica the preferred one in turn;
          // after the third, every leader is back on the broker it started on. Only the
          // source topic's leaders move (and the group coordinator's, when it is not on its
          // preferred replica): a loss here is the consumer side's alone, while the other
          // scenarios move the output's leaders too.
          const elections: number[] = [];
          for (let round = 1; round <= 3; round++) {
            await rotatePreferredReplicas(admin, topics.source);
            const before = await leaders.leaders();
            step(`preferred-leader election ${round}`);
            const election = electPreferredLeaders(cluster.bootstrap);
            await killAfterMove(before, `election ${round}`);
            const { elected, failures } = await election;
            if (failures.length > 0) throw new Error(`election ${round} failed: ${failures.join('; ')}`);
            elections.push(elected);
            await steady();
          }
          return `3 preferred-leader elections after rotating the source topic's preferred replicas (${elections.join('/')} partitions elected), the last moving every leader back`;
        },
      },
      cleanups,
    );
  });

  it('loses nothing when the source topic gains partitions', async () => {
    await runClusterScenario(
      cluster!,
      {
        name: 'partition increase',
        partitions: 6,
        async fault({ admin, topics, killSoon, steady, step }) {
          for (const count of [9, 12]) {
            step(`source topic to ${count} partitions`);
            await increasePartitions(admin, topics.source, count);
            // The members learn of the new partitions when their metadata refreshes or the
            // group rebalances; the kill makes the rebalance happen now.
            await killSoon(`${count} partitions`);
            await steady();
          }
          return 'source topic grown 6 → 9 → 12 partitions under traffic';
        },
      },
      cleanups,
    );
  });
});
