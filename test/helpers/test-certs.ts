// Certificates made at test time with the openssl command: a CA, server certificates for
// 127.0.0.1/localhost, and client certificates, in a temporary directory. EC P-256 keys
// keep it fast (a few ms per certificate).

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Upper-case hex, as X509Certificate#serialNumber and getPeerCertificate().serialNumber give it. */
  readonly serial: string;
}

/** 16 hex digits, positive, no leading zero: printed the same way by OpenSSL and Node. */
function newSerial(): string {
  const bytes = randomBytes(8);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x10;
  return bytes.toString('hex').toUpperCase();
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export class TestPki {
  readonly dir: string;

  constructor(prefix = 'linkstate-pki-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** A self-signed CA named `name` (files name.crt / name.key). */
  makeCa(name: string): CertFiles {
    const serial = newSerial();
    openssl(
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
        '-set_serial', `0x${serial}`,
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ],
      this.dir,
    );
    return this.#files(name, serial);
  }

  /** A leaf certificate signed by `ca`, for a server (127.0.0.1, localhost) or a client. */
  makeCert(name: string, ca: CertFiles, opts: { kind: 'server' | 'client'; sans?: string[] }): CertFiles {
    const serial = newSerial();
    const sans = opts.sans ?? (opts.kind === 'server' ? ['IP:127.0.0.1', 'DNS:localhost'] : [`DNS:${name}.example`]);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(
      ext,
      [
        'basicConstraints=CA:FALSE',
        `extendedKeyUsage=${opts.kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
        `subjectAltName=${sans.join(',')}`,
        '',
      ].join('\n'),
    );
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
      this.dir,
    );
    openssl(
      [
        'x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile,
        '-set_serial', `0x${serial}`, '-days', '2', '-out', `${name}.crt`, '-extfile', ext,
      ],
      this.dir,
    );
    return this.#files(name, serial);
  }

  #files(name: string, serial: string): CertFiles {
    const certFile = join(this.dir, `${name}.crt`);
    const keyFile = join(this.dir, `${name}.key`);
    return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile), serial };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
