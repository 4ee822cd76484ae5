import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type ConnectionOptions, type Server, type TLSSocket } from 'node:tls';
import { ConfigError } from '../../lib/config/config-error.js';
import { connectionOptions, type KafkaSecurity } from '../../lib/kafka/connection-options.js';
import { createTestPki, type TestPki } from './support/test-pki.js';

const NO_SSL: KafkaSecurity['ssl'] = { enabled: false, ca: '', cert: '', key: '', rejectUnauthorized: true };
const NO_SASL: KafkaSecurity['sasl'] = { mechanism: '', username: '', password: '' };

function security(ssl: Partial<KafkaSecurity['ssl']> = {}, sasl: Partial<KafkaSecurity['sasl']> = {}) {
  return { ssl: { ...NO_SSL, ...ssl }, sasl: { ...NO_SASL, ...sasl } };
}

/** The ConfigError message of options that must be refused. */
function refusal(input: KafkaSecurity): string {
  try {
    connectionOptions(input);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  return expect.fail('connectionOptions accepted the settings');
}

describe('connectionOptions', function () {
  this.timeout(20_000);
  let pki: TestPki;
  const text = (path: string) => readFileSync(path, 'utf8');
  before(() => (pki = createTestPki()));
  after(() => pki?.remove());

  describe('without TLS and SASL', () => {
    it('sets neither option, so kafkajs connects in plaintext', () => {
      expect(connectionOptions(security())).to.deep.equal({});
    });

    it('reads no file while KAFKA_SSL is false', () => {
      const missing = join(pki.dir, 'no-such.pem');
      expect(connectionOptions(security({ ca: missing, cert: missing, key: missing }))).to.deep.equal({});
    });
  });

  describe('TLS', () => {
    it('KAFKA_SSL alone verifies the brokers against the system CAs', () => {
      expect(connectionOptions(security({ enabled: true }))).to.deep.equal({
        ssl: { rejectUnauthorized: true },
      });
    });

    it('KAFKA_SSL_REJECT_UNAUTHORIZED=false turns verification off', () => {
      expect(connectionOptions(security({ enabled: true, rejectUnauthorized: false }))).to.deep.equal({
        ssl: { rejectUnauthorized: false },
      });
    });

    it('passes the PEM contents of KAFKA_SSL_CA, KAFKA_SSL_CERT and KAFKA_SSL_KEY', () => {
      const options = connectionOptions(
        security({ enabled: true, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }),
      );
      expect(options).to.deep.equal({
        ssl: {
          rejectUnauthorized: true,
          ca: [text(pki.ca)],
          cert: text(pki.clientCert),
          key: text(pki.clientKey),
        },
      });
    });

    it('accepts a CA bundle of several certificates', () => {
      const bundle = join(pki.dir, 'bundle.pem');
      writeFileSync(bundle, `${text(pki.otherCa)}\n${text(pki.ca)}`);
      const options = connectionOptions(security({ enabled: true, ca: bundle }));
      expect(options.ssl).to.deep.equal({ rejectUnauthorized: true, ca: [text(bundle)] });
    });

    describe('against a TLS server that requires a client certificate', () => {
      let server: Server;
      let port = 0;
      let clients: string[] = [];
      before(async () => {
        server = createServer(
          {
            cert: text(pki.serverCert),
            key: text(pki.serverKey),
            ca: [text(pki.ca)],
            requestCert: true,
            rejectUnauthorized: true,
          },
          (socket) => {
            clients.push(String(socket.getPeerCertificate().subject?.CN));
            socket.end('hello');
          },
        );
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as { port: number }).port;
      });
      after(() => new Promise<void>((resolve) => server.close(() => resolve())));
      beforeEach(() => (clients = []));

      /** Connects with the options' ssl part; resolves with what the server said, or rejects. */
      function handshake(input: KafkaSecurity): Promise<string> {
        const ssl = connectionOptions(input).ssl as ConnectionOptions;
        return new Promise((resolve, reject) => {
          let received = '';
          const socket: TLSSocket = connect({ ...ssl, host: '127.0.0.1', port, servername: 'localhost' });
          socket.setEncoding('utf8');
          socket.on('data', (chunk: string) => (received += chunk));
          socket.on('end', () => resolve(received));
          socket.on('error', reject);
        });
      }

      it('completes mutual TLS with the mapped CA, certificate and key', async () => {
        const input = security({ enabled: true, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
        expect(await handshake(input)).to.equal('hello');
        expect(clients).to.deep.equal(['client']);
      });

      it('refuses a server that the given CA did not sign', async () => {
        const input = security({ enabled: true, ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey });
        let failure: unknown;
        await handshake(input).catch((error: unknown) => (failure = error));
        expect(failure, 'the handshake succeeded').to.be.instanceOf(Error);
        expect((failure as NodeJS.ErrnoException).code).to.match(/CERT|SIGNATURE|ISSUER/);
        expect(clients).to.deep.equal([]);
      });

      it('connects to that server anyway with KAFKA_SSL_REJECT_UNAUTHORIZED=false', async () => {
        const input = security({
          enabled: true,
          ca: pki.otherCa,
          cert: pki.clientCert,
          key: pki.clientKey,
          rejectUnauthorized: false,
        });
        expect(await handshake(input)).to.equal('hello');
      });
    });

    describe('refuses, naming the variable and the path but never the contents,', () => {
      const keyBody = () => text(pki.clientKey).split('\n')[1]!;

      it('a KAFKA_SSL_CA that holds no certificate', () => {
        const notPem = join(pki.dir, 'not.pem');
        writeFileSync(notPem, 'just text\n');
        for (const path of [notPem, pki.clientKey]) {
          const message = refusal(security({ enabled: true, ca: path }));
          expect(message).to.equal(`KAFKA_SSL_CA must be a PEM file of certificates: ${path}`);
          expect(message).not.to.include(keyBody());
        }
      });

      it('a certificate block that does not parse', () => {
        const broken = join(pki.dir, 'broken.pem');
        writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
        expect(refusal(security({ enabled: true, ca: broken }))).to.match(/^KAFKA_SSL_CA must be a PEM file/);
      });

      it('a KAFKA_SSL_CERT that is not a certificate', () => {
        const message = refusal(security({ enabled: true, cert: pki.clientKey, key: pki.clientKey }));
        expect(message).to.equal(`KAFKA_SSL_CERT must be a PEM file of certificates: ${pki.clientKey}`);
        expect(message).not.to.include(keyBody());
      });

      it('a KAFKA_SSL_KEY that is not a private key, or is encrypted', () => {
        for (const path of [pki.clientCert, pki.encryptedKey]) {
          expect(refusal(security({ enabled: true, cert: pki.clientCert, key: path }))).to.equal(
            `KAFKA_SSL_KEY must be a PEM file of an unencrypted private key: ${path}`,
          );
        }
      });

      it('a KAFKA_SSL_KEY that is not the key of KAFKA_SSL_CERT', () => {
        const message = refusal(security({ enabled: true, cert: pki.clientCert, key: pki.otherKey }));
        expect(message).to.match(/^KAFKA_SSL_KEY does not belong to the certificate of KAFKA_SSL_CERT/);
        expect(message).to.include(pki.otherKey);
        expect(message).not.to.include(text(pki.otherKey).split('\n')[1]!);
      });

      it('a file that cannot be read', () => {
        const missing = join(pki.dir, 'gone.pem');
        expect(refusal(security({ enabled: true, ca: missing }))).to.match(
          /^KAFKA_SSL_CA cannot be read: .*ENOENT/,
        );
      });

      it('a certificate without its key, and a key without its certificate', () => {
        expect(refusal(security({ enabled: true, cert: pki.clientCert }))).to.match(
          /^KAFKA_SSL_KEY must be set/,
        );
        expect(refusal(security({ enabled: true, key: pki.clientKey }))).to.match(
          /^KAFKA_SSL_CERT must be set/,
        );
      });
    });
  });

  describe('SASL', () => {
    it('maps each mechanism with its user name and password', () => {
      for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
        expect(
          connectionOptions(security({}, { mechanism, username: 'alice', password: 'alice-secret' })),
          mechanism,
        ).to.deep.equal({ sasl: { mechanism, username: 'alice', password: 'alice-secret' } });
      }
    });

    it('combines with TLS (SASL_SSL)', () => {
      const options = connectionOptions(
        security(
          { enabled: true, ca: pki.ca },
          { mechanism: 'scram-sha-512', username: 'bob', password: 'pw' },
        ),
      );
      expect(options).to.deep.equal({
        ssl: { rejectUnauthorized: true, ca: [text(pki.ca)] },
        sasl: { mechanism: 'scram-sha-512', username: 'bob', password: 'pw' },
      });
    });
  });
});
