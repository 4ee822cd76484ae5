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
});
