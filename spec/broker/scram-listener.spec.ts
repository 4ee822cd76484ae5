import { expect } from 'chai';
import { addScramArguments } from '../../lib/broker/jvm-broker.js';
import { serverProperties } from '../../lib/broker/server-properties.js';

function parse(text: string): Map<string, string> {
  return new Map(
    text
      .trim()
      .split('\n')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)] as [string, string];
      }),
  );
}

describe('serverProperties with a SCRAM listener', () => {
  const base = { port: 19092, controllerPort: 19093, logDir: '/tmp/k' };
  const plain = parse(serverProperties(base));
  const scram = parse(serverProperties({ ...base, saslPort: 19094 }));
  const LISTENER_KEYS = ['listeners', 'advertised.listeners', 'listener.security.protocol.map'];

  it('leaves the default broker without SASL', () => {
    expect([...plain.keys()].filter((key) => /sasl/i.test(key))).to.deep.equal([]);
    expect(serverProperties(base)).not.to.match(/SASL/);
  });

  it('adds a SASL_PLAINTEXT listener next to PLAINTEXT, which stays the inter-broker listener', () => {
    expect(scram.get('listeners')).to.equal(
      'PLAINTEXT://127.0.0.1:19092,SASL_PLAINTEXT://127.0.0.1:19094,CONTROLLER://127.0.0.1:19093',
    );
    expect(scram.get('advertised.listeners')).to.equal(
      'PLAINTEXT://127.0.0.1:19092,SASL_PLAINTEXT://127.0.0.1:19094',
    );
    expect(scram.get('listener.security.protocol.map')).to.equal(
      'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
    );
    expect(scram.get('inter.broker.listener.name')).to.equal('PLAINTEXT');
  });

  it('enables SCRAM-SHA-256 and SCRAM-SHA-512 with a login module for each', () => {
    expect(scram.get('sasl.enabled.mechanisms')).to.equal('SCRAM-SHA-256,SCRAM-SHA-512');
    for (const mechanism of ['scram-sha-256', 'scram-sha-512']) {
      expect(scram.get(`listener.name.sasl_plaintext.${mechanism}.sasl.jaas.config`)).to.equal(
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      );
    }
  });

  it('keeps every other setting of the default broker as it is', () => {
    for (const [key, value] of plain) {
      if (!LISTENER_KEYS.includes(key)) expect(scram.get(key), key).to.equal(value);
    }
  });
});

describe('addScramArguments', () => {
  it('creates each user for both mechanisms at storage-format time', () => {
    expect(
      addScramArguments([
        { name: 'alice', password: 'alice-secret' },
        { name: 'bob', password: 'b.0_b@x' },
      ]),
    ).to.deep.equal([
      '--add-scram=SCRAM-SHA-256=[name=alice,password=alice-secret]',
      '--add-scram=SCRAM-SHA-512=[name=alice,password=alice-secret]',
      '--add-scram=SCRAM-SHA-256=[name=bob,password=b.0_b@x]',
      '--add-scram=SCRAM-SHA-512=[name=bob,password=b.0_b@x]',
    ]);
  });

  it('refuses what StorageTool would split or misread', () => {
    for (const user of [
      { name: 'alice', password: 'a,b' },
      { name: 'al]ice', password: 'x' },
      { name: 'alice', password: '' },
      { name: 'alice', password: 'with space' },
    ]) {
      expect(() => addScramArguments([user]), JSON.stringify(user)).to.throw(/may hold only/);
    }
  });
});
