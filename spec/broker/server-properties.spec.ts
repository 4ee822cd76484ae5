import { expect } from 'chai';
import { serverProperties } from '../../lib/broker/server-properties.js';

function parse(text: string): Map<string, string> {
  return new Map(
    text
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
}

describe('serverProperties', () => {
  const props = parse(serverProperties({ port: 19092, controllerPort: 19093, logDir: '/tmp/k' }));

  it('runs a combined KRaft node listening on loopback only', () => {
    expect(props.get('process.roles')).to.equal('broker,controller');
    expect(props.get('listeners')).to.equal('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(props.get('advertised.listeners')).to.equal('PLAINTEXT://127.0.0.1:19092');
    expect(props.get('controller.quorum.voters')).to.equal('1@127.0.0.1:19093');
    expect(props.get('log.dirs')).to.equal('/tmp/k');
  });

  it('forms groups at once, keeps internal topics on one replica and never auto-creates topics', () => {
    expect(props.get('group.initial.rebalance.delay.ms')).to.equal('0');
    expect(props.get('offsets.topic.replication.factor')).to.equal('1');
    expect(props.get('transaction.state.log.replication.factor')).to.equal('1');
    expect(props.get('auto.create.topics.enable')).to.equal('false');
  });

  it("keeps Kafka's replication defaults, which a single node cannot exceed", () => {
    expect(props.get('node.id')).to.equal('1');
    expect(props.has('default.replication.factor')).to.equal(false);
    expect(props.has('min.insync.replicas')).to.equal(false);
  });
});

describe('serverProperties of a cluster node', () => {
  const voters = [
    { nodeId: 1, controllerPort: 19093 },
    { nodeId: 2, controllerPort: 29093 },
    { nodeId: 3, controllerPort: 39093 },
  ];
  const node = (nodeId: number, port: number, controllerPort: number) =>
    parse(serverProperties({ port, controllerPort, logDir: `/tmp/k${nodeId}`, quorum: { nodeId, voters } }));
  const props = node(2, 29092, 29093);

  it('is a broker and a controller voter of a three-node quorum, under its own id', () => {
    expect(props.get('process.roles')).to.equal('broker,controller');
    expect(props.get('node.id')).to.equal('2');
    expect(props.get('controller.quorum.voters')).to.equal(
      '1@127.0.0.1:19093,2@127.0.0.1:29093,3@127.0.0.1:39093',
    );
    expect(props.get('listeners')).to.equal('PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093');
    expect(props.get('advertised.listeners')).to.equal('PLAINTEXT://127.0.0.1:29092');
  });

  it('lists the same voters on every node', () => {
    const all = [node(1, 19092, 19093), props, node(3, 39092, 39093)];
    expect(new Set(all.map((p) => p.get('controller.quorum.voters'))).size).to.equal(1);
    expect(all.map((p) => p.get('node.id'))).to.deep.equal(['1', '2', '3']);
  });

  it('replicates topics and internal topics on all three nodes, acknowledged by two', () => {
    expect(props.get('default.replication.factor')).to.equal('3');
    expect(props.get('min.insync.replicas')).to.equal('2');
    expect(props.get('offsets.topic.replication.factor')).to.equal('3');
    expect(props.get('transaction.state.log.replication.factor')).to.equal('3');
    expect(props.get('transaction.state.log.min.isr')).to.equal('2');
  });

  it('moves leaders only when asked, forms groups at once and never auto-creates topics', () => {
    expect(props.get('auto.leader.rebalance.enable')).to.equal('false');
    expect(props.get('group.initial.rebalance.delay.ms')).to.equal('0');
    expect(props.get('auto.create.topics.enable')).to.equal('false');
  });

  it('refuses a node that is not a voter on its controller port', () => {
    expect(() =>
      serverProperties({ port: 1, controllerPort: 2, logDir: '/tmp/k', quorum: { nodeId: 4, voters } }),
    ).to.throw(/node 4 must be a voter/);
    expect(() =>
      serverProperties({ port: 1, controllerPort: 2, logDir: '/tmp/k', quorum: { nodeId: 1, voters } }),
    ).to.throw(/node 1 must be a voter of its quorum on controller port 2/);
  });
});
