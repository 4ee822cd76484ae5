import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Connection } from '@platformatic/kafka';
import { ConfigError } from '../../lib/config/config-error.js';
import { connectionOptions, type KafkaSecurity } from '../../lib/kafka/connection-options.js';
import { platformaticConnectionOptions } from '../../lib/kafka/platformatic-connection-options.js';
import { createTestPki, type TestPki } from './support/test-pki.js';

const NO_SSL: KafkaSecurity['ssl'] = { enabled: false, ca: '', cert: '', key: '', rejectUnauthorized: true };
const NO_SASL: KafkaSecurity['sasl'] = { mechanism: '', username: '', password: '' };

function security(ssl: Partial<KafkaSecurity['ssl']> = {}, sasl: Partial<KafkaSecurity['sasl']> = {}) {
  return { ssl: { ...NO_SSL, ...ssl }, sasl: { ...NO_SASL, ...sasl } };
}

describe('platformaticConnectionOptions', function () {
  this.timeout(20_000);
  let pki: TestPki;
  const text = (path: string) => readFileSync(path, 'utf8');
  before(() => (pki = createTestPki()));
  after(() => pki?.remove());

  it('sets nothing without TLS and SASL, so the client connects in plaintext', () => {
    expect(platformaticConnectionOptions(security(), ['k1:9092'])).to.deep.equal({});
  });

  it("gives the client the TLS options the kafkajs clients get, and names the broker's host (SNI) as kafkajs does", () => {
    const input = security({ enabled: true, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    const options = platformaticConnectionOptions(input, ['kafka-1.example.com:9093']);
    expect(options).to.deep.equal({ tls: connectionOptions(input).ssl, tlsServerName: true });
    expect(options.tls).to.deep.include({
      ca: [text(pki.ca)],
      cert: text(pki.clientCert),
      rejectUnauthorized: true,
    });
  });

  it('names no host for brokers given as IP addresses, which SNI does not allow', () => {
    const input = security({ enabled: true, rejectUnauthorized: false });
    expect(platformaticConnectionOptions(input, ['10.0.0.1:9093', '10.0.0.2:9093'])).to.deep.equal({
      tls: { rejectUnauthorized: false },
    });
    expect(platformaticConnectionOptions(input, ['10.0.0.1:9093', 'kafka-2:9093']).tlsServerName).to.equal(
      true,
    );
  });

  it('maps each SASL mechanism to its name in this client, with the credentials', () => {
    const cases: Array<[KafkaSecurity['sasl']['mechanism'], string]> = [
      ['plain', 'PLAIN'],
      ['scram-sha-256', 'SCRAM-SHA-256'],
      ['scram-sha-512', 'SCRAM-SHA-512'],
    ];
    for (const [mechanism, name] of cases) {
      const options = platformaticConnectionOptions(
        security({}, { mechanism, username: 'alice', password: 's3cret' }),
        ['k1:9092'],
      );
      expect(options).to.deep.equal({ sasl: { mechanism: name, username: 'alice', password: 's3cret' } });
    }
  });

  it('refuses PEM files as the kafkajs mapping does', () => {
    expect(() =>
      platformaticConnectionOptions(security({ enabled: true, cert: pki.clientCert, key: pki.otherKey }), [
        'k1:9092',
      ]),
    ).to.throw(ConfigError, /^KAFKA_SSL_KEY does not belong to the certificate of KAFKA_SSL_CERT/);
  });

  describe("through this client's own connection, against a TLS server that requires a client certificate", () => {
    let server: Server;
    let port = 0;
    let seen: Array<{ client: string; servername: string | false }> = [];
    before(async () => {
      server = createServer(
        {
          cert: text(pki.serverCert),
          key: text(pki.serverKey),
          ca: [text(pki.ca)],
          requestCert: true,
          rejectUnauthorized: true,
        },
        (socket: TLSSocket) => {
          const servername = (socket as TLSSocket & { servername: string | false }).servername;
          seen.push({ client: String(socket.getPeerCertificate().subject?.CN), servername });
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    beforeEach(() => (seen = []));

    /** Connects and closes again, once the server has seen the handshake (or it failed). */
    async function connectTo(host: string, input: KafkaSecurity): Promise<void> {
      const connection = new Connection('spec', {
        ...platformaticConnectionOptions(input, [`${host}:${port}`]),
        connectTimeout: 5000,
      });
      try {
        await connection.connect(host, port);
        // The client's side of the handshake can end before the server's does.
        for (let waited = 0; seen.length === 0 && waited < 5000; waited += 10) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        await connection.close();
      }
    }

    it('completes mutual TLS, naming the host name it connects to', async () => {
      await connectTo(
        'localhost',
        security({ enabled: true, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }),
      );
      expect(seen).to.deep.equal([{ client: 'client', servername: 'localhost' }]);
    });

    it('names no host when connecting to an IP address', async () => {
      await connectTo(
        '127.0.0.1',
        security({ enabled: true, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }),
      );
      expect(seen).to.deep.equal([{ client: 'client', servername: false }]);
    });

    it('refuses a server that the given CA did not sign', async () => {
      const input = security({ enabled: true, ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey });
      const failure = await connectTo('localhost', input).catch((error: unknown) => error);
      expect(failure, 'the handshake succeeded').to.be.instanceOf(Error);
      expect(
        JSON.stringify(failure, Object.getOwnPropertyNames(failure)) + String((failure as Error).cause),
      ).to.match(/CERT|SIGNATURE|ISSUER|certificate/i);
    });
  });
});
