import { expect } from 'chai';
import { BrokerUnavailableError } from '../../lib/kafka/broker-unavailable-error.js';
import { assertJavaToolchain, javaMajorVersion } from '../../lib/broker/toolchain.js';

describe('assertJavaToolchain', () => {
  let savedPath: string | undefined;
  beforeEach(() => (savedPath = process.env.PATH));
  afterEach(() => (process.env.PATH = savedPath));

  it('says what to install or set when java is missing', () => {
    process.env.PATH = '/nonexistent';
    expect(javaMajorVersion()).to.equal(undefined);
    expect(() => assertJavaToolchain())
      .to.throw(BrokerUnavailableError)
      .with.property('message')
      .that.matches(/java not found/)
      .and.matches(/Java 17\+ and Maven/)
      .and.matches(/KAFKA_BROKERS/);
  });
});
