// exporter-toolkit's client_auth_type and client_allowed_sans, on Node's TLS sockets.
// The handshake itself requests (and, for RequireAndVerifyClientCert, verifies) the client
// certificate; the policies OpenSSL cannot express are checked here once the handshake is
// done, and the connection is closed before any HTTP is read.

import type tls from 'node:tls';
import type { ClientAuthType, TlsServerConfig } from './web-config.js';

/** Server options for the handshake under a client_auth_type. */
export function handshakeOptions(type: ClientAuthType): { requestCert: boolean; rejectUnauthorized: boolean } {
  return {
    requestCert: type !== 'NoClientCert',
    rejectUnauthorized: type === 'RequireAndVerifyClientCert',
  };
}

/** "DNS:a.example, IP Address:127.0.0.1, URI:spiffe://x" → values without their prefixes. */
export function subjectAltNames(subjectaltname: string | undefined): string[] {
  if (subjectaltname === undefined || subjectaltname === '') return [];
  const names: string[] = [];
  // Node quotes entries that contain a comma (JSON string syntax); others are bare.
  const re = /(?:^|,\s*)([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(subjectaltname); m !== null; m = re.exec(subjectaltname)) {
    const raw = m[2] ?? '';
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    names.push(value);
  }
  return names;
}

/** Why this connection must be closed, or undefined when the policy is met. */
export function clientCertificateProblem(socket: tls.TLSSocket, policy: TlsServerConfig): string | undefined {
  const type = policy.clientAuthType;
  if (type === 'NoClientCert' || type === 'RequestClientCert') return undefined;
  const cert = socket.getPeerCertificate();
  const present = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  if (!present) {
    return type === 'VerifyClientCertIfGiven' ? undefined : 'no client certificate';
  }
  if ((type === 'VerifyClientCertIfGiven' || type === 'RequireAndVerifyClientCert') && !socket.authorized) {
    return `client certificate not verified: ${String(socket.authorizationError)}`;
  }
  if (policy.clientAllowedSans.length > 0) {
    const names = subjectAltNames(cert.subjectaltname);
    if (!names.some((n) => policy.clientAllowedSans.includes(n))) {
      return 'client certificate has none of the allowed SANs';
    }
  }
  return undefined;
}
