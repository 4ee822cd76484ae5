import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of a throw-away certificate authority, made with openssl for one spec run. */
export interface TestPki {
  dir: string;
  /** The CA's certificate. */
  ca: string;
  /** A server certificate for 127.0.0.1 and localhost, signed by the CA, and its key. */
  serverCert: string;
  serverKey: string;
  /** A client certificate (clientAuth) signed by the CA, and its key. */
  clientCert: string;
  clientKey: string;
  /** A key that belongs to no certificate here. */
  otherKey: string;
  /** clientKey encrypted with a passphrase (PKCS#8). */
  encryptedKey: string;
  /** A CA of its own that signed nothing here. */
  otherCa: string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`openssl ${args[0]} failed: ${String(result.error ?? '')}${result.stderr}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=myeventstream ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function makeLeaf(dir: string, name: string, extensions: string): void {
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
}

/** Needs the openssl command; throws saying so when it is missing. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'myeventstream-pki-'));
  try {
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    makeLeaf(
      dir,
      'server',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
    );
    makeLeaf(dir, 'client', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
    openssl(dir, [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-out',
      'other.key',
    ]);
    openssl(dir, [
      'pkcs8',
      '-topk8',
      '-in',
      'client.key',
      '-out',
      'encrypted.key',
      '-passout',
      'pass:key-passphrase',
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const at = (name: string) => join(dir, name);
  return {
    dir,
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherKey: at('other.key'),
    encryptedKey: at('encrypted.key'),
    otherCa: at('other-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
