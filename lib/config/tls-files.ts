import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { errorMessage } from '../core/errors.js';
import { ConfigError } from './config-error.js';
import type { RawConfig } from './schema.js';

/** KAFKA_SSL*: whether to use TLS, and the PEM files of the CA, the certificate and its key. */
export type TlsSettings = RawConfig['kafka']['ssl'];

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The TLS options of KAFKA_SSL*, the PEM files read and checked: a file that holds no
 * certificate, a key that does not parse or does not belong to the certificate throws a
 * ConfigError naming the variable and the path, never the contents. Loading the configuration
 * calls it too, so a bad file stops start-up before anything connects.
 */
export function tlsOptions(ssl: TlsSettings): TlsOptions {
  const options: TlsOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  // Without a CA file, Node's bundled CAs verify the brokers.
  if (ssl.ca !== '') options.ca = [certificates('KAFKA_SSL_CA', ssl.ca).pem];
  if (ssl.cert !== '' || ssl.key !== '') {
    const cert = certificates('KAFKA_SSL_CERT', ssl.cert);
    const key = privateKey(ssl.key);
    if (!cert.first.checkPrivateKey(key.object)) {
      throw new ConfigError(
        `KAFKA_SSL_KEY does not belong to the certificate of KAFKA_SSL_CERT (${ssl.key}, ${ssl.cert})`,
      );
    }
    options.cert = cert.pem;
    options.key = key.pem;
  }
  return options;
}

/** A PEM file of one or more certificates (a CA bundle, or a certificate and its chain). */
function certificates(env: string, path: string): { pem: string; first: X509Certificate } {
  const pem = readPem(env, path);
  const blocks = pem.match(CERTIFICATE) ?? [];
  const parsed = blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch {
      return undefined;
    }
  });
  const [first] = parsed;
  if (first === undefined || parsed.includes(undefined)) {
    throw new ConfigError(`${env} must be a PEM file of certificates: ${path}`);
  }
  return { pem, first };
}

function privateKey(path: string): { pem: string; object: KeyObject } {
  const pem = readPem('KAFKA_SSL_KEY', path);
  try {
    return { pem, object: createPrivateKey({ key: pem, format: 'pem' }) };
  } catch {
    // Node's reason (e.g. a passphrase is needed) names no contents, but is cryptic; say what works.
    throw new ConfigError(`KAFKA_SSL_KEY must be a PEM file of an unencrypted private key: ${path}`);
  }
}

function readPem(env: string, path: string): string {
  if (path === '') throw new ConfigError(`${env} must be set with ${partnerOf(env)}`);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${env} cannot be read: ${errorMessage(error)}`);
  }
}

function partnerOf(env: string): string {
  return env === 'KAFKA_SSL_CERT' ? 'KAFKA_SSL_KEY' : 'KAFKA_SSL_CERT';
}
