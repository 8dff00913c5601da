// loadWebConfig: read a --web.config.file and every file it names, validate them together
// (YAML, certificate/key pair, client CA) and return what the server needs, plus a hash of
// all the bytes read so that a reload can tell "nothing changed" from "something changed".

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import tls from 'node:tls';
import { parseWebConfig, WebConfigError, type WebConfig } from './web-config.js';

export interface CertificateSummary {
  readonly serialNumber: string;
  readonly subject: string;
  readonly validTo: string;
}

export interface LoadedWebConfig {
  readonly path: string;
  readonly config: WebConfig;
  /** sha256 over the config text and the contents of every file it names. */
  readonly hash: string;
  /** Options for tls.createServer / setSecureContext, when TLS is configured. */
  readonly secureContext?: tls.SecureContextOptions;
  readonly certificate?: CertificateSummary;
  /** The config file and the files it names: their directories are watched. */
  readonly files: readonly string[];
}

/** One line: "no such file or directory (ENOENT)" for fs errors, the first line otherwise. */
function reason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  if (typeof code !== 'string') return message;
  if (message.startsWith(`${code}: `)) return `${message.slice(code.length + 2).split(', ')[0] ?? ''} (${code})`;
  return message.includes(code) ? message : `${message} (${code})`;
}

async function readNamed(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new WebConfigError(`${what}: cannot read ${path}: ${reason(err)}`, { cause: err });
  }
}

/**
 * A TLS 1.2 handshake needs a suite that signs with the certificate's key type (ECDSA suites for
 * EC and EdDSA keys, RSA ones for RSA keys): with none listed, no TLS 1.2 client could connect.
 */
function checkSuitesFitKey(suites: readonly string[], minVersion: string, keyType: string | undefined): void {
  if (suites.length === 0 || minVersion === 'TLSv1.3' || keyType === undefined) return;
  const ecdsa = keyType === 'ec' || keyType === 'ed25519' || keyType === 'ed448';
  const fits = suites.some((s) => (ecdsa ? s.startsWith('ECDHE-ECDSA-') : !s.startsWith('ECDHE-ECDSA-')));
  if (!fits) {
    throw new WebConfigError(`tls_server_config.cipher_suites: no suite for the certificate's ${keyType} key (${ecdsa ? 'ECDSA' : 'RSA'} suites)`);
  }
}

function tls13Defaults(): string[] {
  return tls.DEFAULT_CIPHERS.split(':').filter((name) => name.startsWith('TLS_'));
}

export async function loadWebConfig(path: string): Promise<LoadedWebConfig> {
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (err) {
    throw new WebConfigError(`cannot read ${path}: ${reason(err)}`, { cause: err });
  }
  const config = parseWebConfig(text.toString('utf8'), dirname(path));
  const hash = createHash('sha256').update(text);
  const files = [path];
  const t = config.tls;
  if (t === undefined) {
    return Object.freeze({ path, config, hash: hash.digest('hex'), files: Object.freeze(files) });
  }

  const material = async (inline: string | undefined, file: string | undefined, what: string): Promise<Buffer | undefined> => {
    if (inline !== undefined) return Buffer.from(inline, 'utf8');
    if (file === undefined) return undefined;
    files.push(file);
    return readNamed(file, `tls_server_config.${what}`);
  };
  const cert = await material(t.cert, t.certFile, 'cert_file');
  const key = await material(t.key, t.keyFile, 'key_file');
  const ca = await material(t.clientCa, t.clientCaFile, 'client_ca_file');
  for (const part of [cert, key, ca]) {
    // Length-prefixed so that moving bytes between files changes the hash.
    hash.update(String(part?.length ?? -1)).update(':').update(part ?? Buffer.alloc(0));
  }
  if (cert === undefined || key === undefined) throw new WebConfigError('tls_server_config: certificate or key missing');

  let certificate: CertificateSummary;
  try {
    const x509 = new X509Certificate(cert);
    certificate = { serialNumber: x509.serialNumber, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo };
    const privateKey = createPrivateKey(key);
    if (!x509.checkPrivateKey(privateKey)) {
      throw new WebConfigError('tls_server_config: the key does not belong to the certificate');
    }
    checkSuitesFitKey(t.cipherSuites, t.minVersion, privateKey.asymmetricKeyType);
  } catch (err) {
    if (err instanceof WebConfigError) throw err;
    throw new WebConfigError(`tls_server_config: invalid certificate or key: ${reason(err)}`, { cause: err });
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new WebConfigError(`tls_server_config: client CA holds no valid certificate: ${reason(err)}`, { cause: err });
    }
  }

  const secureContext: tls.SecureContextOptions = {
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    honorCipherOrder: t.preferServerCipherSuites,
    // Node sets the TLS 1.3 suites from the same option (names starting with TLS_): Node's
    // defaults are kept for those, or a TLS 1.2 list would turn TLS 1.3 off.
    ...(t.cipherSuites.length > 0 ? { ciphers: [...tls13Defaults(), ...t.cipherSuites].join(':') } : {}),
    ...(t.curvePreferences.length > 0 ? { ecdhCurve: t.curvePreferences.join(':') } : {}),
  };
  try {
    tls.createSecureContext(secureContext);
  } catch (err) {
    throw new WebConfigError(`tls_server_config: OpenSSL refused the settings: ${reason(err)}`, { cause: err });
  }
  return Object.freeze({
    path,
    config,
    hash: hash.digest('hex'),
    secureContext,
    certificate: Object.freeze(certificate),
    files: Object.freeze(files),
  });
}
