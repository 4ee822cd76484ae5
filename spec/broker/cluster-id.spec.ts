import { expect } from 'chai';
import { kafkaClusterId, storageFormatArguments } from '../../lib/broker/jvm-broker.js';

describe('kafkaClusterId', () => {
  it('never begins with "-" over 10,000 draws, and is always 16 bytes in base64url', function () {
    this.timeout(30_000);
    const ids = Array.from({ length: 10_000 }, () => kafkaClusterId());
    expect(ids.filter((id) => id.startsWith('-'))).to.deep.equal([]);
    for (const id of ids) {
      expect(id).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).to.have.length(16);
    }
    // Plain draws would begin with "-" about 156 times in 10,000; none did, and they still vary.
    expect(new Set(ids.map((id) => id[0])).size).to.be.greaterThan(60);
  });

  it('draws again when the bytes would print with a leading "-" or are all zero', () => {
    // 0xF8 puts 62 (the "-" of base64url) in the first six bits.
    const leadingDash = Buffer.alloc(16, 0xf8);
    // The third draw is fixed: a random one begins with "-" once in 64 and is drawn past too.
    const draws = [leadingDash, Buffer.alloc(16), Buffer.from('0123456789abcdef')];
    let calls = 0;
    const id = kafkaClusterId(() => draws[calls++]!);
    expect(leadingDash.toString('base64url')).to.match(/^-/);
    expect(calls).to.equal(3);
    expect(id).to.equal(draws[2]!.toString('base64url'));
  });
});

describe('storageFormatArguments', () => {
  it('joins every value to its option, so a value beginning with "-" is never read as an option', () => {
    const args = storageFormatArguments('-Ab_cd', '/tmp/-dir/server.properties', [
      '--add-scram=SCRAM-SHA-256=[name=a,password=-x]',
    ]);
    expect(args).to.deep.equal([
      'format',
      '--cluster-id=-Ab_cd',
      '--config=/tmp/-dir/server.properties',
      '--ignore-formatted',
      '--add-scram=SCRAM-SHA-256=[name=a,password=-x]',
    ]);
    for (const arg of args.slice(1)) expect(arg).to.match(/^--[a-z-]+(=|$)/);
  });
});
