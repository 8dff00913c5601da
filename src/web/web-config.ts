// parseWebConfig: the text of a --web.config.file (exporter-toolkit's web configuration
// format, YAML) → a validated WebConfig. Pure: no file is read here; relative paths are
// resolved against the config file's directory, as exporter-toolkit does. Any problem
// throws WebConfigError with one line naming the key.

import { http } from '../runtime/builtins.js';
import { isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { bcryptCostProblem } from './basic-auth.js';

export class WebConfigError extends Error {
  readonly code = 'WEB_CONFIG' as const;
  override readonly name = 'WebConfigError';
}

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
const TLS_VERSIONS: Record<string, TlsVersion> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const TLS_VERSION_ORDER: TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's crypto/tls curve names → OpenSSL group names. */
const CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/**
 * Go's crypto/tls names of the TLS 1.0-1.2 suites exporter-toolkit accepts (tls.CipherSuites():
 * no RC4, 3DES or CBC-SHA256) → OpenSSL names.
 */
const CIPHER_SUITES: Record<string, string> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** TLS 1.3 suites: accepted by name (as exporter-toolkit does) but not configurable, as in Go. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

export interface TlsServerConfig {
  /** Inline PEM, or an absolute path to read. Exactly one of each pair is set. */
  readonly cert?: string;
  readonly certFile?: string;
  readonly key?: string;
  readonly keyFile?: string;
  readonly clientCa?: string;
  readonly clientCaFile?: string;
  readonly clientAuthType: ClientAuthType;
  /** Exact SAN values (DNS, IP, e-mail or URI) of which a client certificate must have one. */
  readonly clientAllowedSans: readonly string[];
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  readonly preferServerCipherSuites: boolean;
  /** OpenSSL names of the TLS 1.2 (and older) suites allowed, in order; empty = OpenSSL's default. */
  readonly cipherSuites: readonly string[];
  /** OpenSSL group names, in preference order; empty = OpenSSL's default. */
  readonly curvePreferences: readonly string[];
}

export interface WebConfig {
  /** undefined: plain HTTP. */
  readonly tls?: TlsServerConfig;
  /** username → bcrypt hash; empty: no basic authentication. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** Canonical header name → value; an empty value removes the exporter's default. */
  readonly headers: ReadonlyMap<string, string>;
  /** Settings accepted but not acted on, for the log. */
  readonly warnings: readonly string[];
}

/**
 * Headers the file may set, with the values allowed where the set is closed — the same list
 * as exporter-toolkit; anything else (Content-Type, Content-Encoding, Authorization, …) is refused.
 */
const CONFIGURABLE_HEADERS: Record<string, readonly string[] | undefined> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

const BCRYPT_HASH = /^\$2[aby]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

type Obj = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new WebConfigError(path === '' ? message : `${path}: ${message}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

function section(value: unknown, path: string): Obj | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, `expected a mapping, got ${describe(value)}`);
  return value as Obj;
}

function checkKeys(obj: Obj, path: string, known: readonly string[], unsupported: Record<string, string> = {}): void {
  for (const key of Object.keys(obj)) {
    const why = unsupported[key];
    if (why !== undefined) fail(path === '' ? key : `${path}.${key}`, why);
    if (!known.includes(key)) {
      fail(path, `unknown key ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    }
  }
}

function optString(obj: Obj, key: string, path: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`${path}.${key}`, `expected a string, got ${describe(v)}`);
  return v === '' ? undefined : v;
}

function optBool(obj: Obj, key: string, path: string, def: boolean): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') fail(`${path}.${key}`, `expected true or false, got ${describe(v)}`);
  return v;
}

function stringList(obj: Obj, key: string, path: string): string[] {
  const v = obj[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    fail(`${path}.${key}`, 'expected a list of strings');
  }
  return v as string[];
}

function tlsVersion(obj: Obj, key: string, path: string, def: TlsVersion): TlsVersion {
  const v = optString(obj, key, path);
  if (v === undefined) return def;
  const version = TLS_VERSIONS[v];
  if (version === undefined) fail(`${path}.${key}`, `unknown TLS version ${JSON.stringify(v)} (expected TLS10, TLS11, TLS12 or TLS13)`);
  return version;
}

function parseTls(value: unknown, baseDir: string, warnings: string[]): TlsServerConfig | undefined {
  const path = 'tls_server_config';
  const obj = section(value, path);
  if (obj === undefined) return undefined;
  checkKeys(obj, path, [
    'cert',
    'key',
    'client_ca',
    'cert_file',
    'key_file',
    'client_ca_file',
    'client_auth_type',
    'client_allowed_sans',
    'min_version',
    'max_version',
    'cipher_suites',
    'prefer_server_cipher_suites',
    'curve_preferences',
  ]);
  const file = (key: string): string | undefined => {
    const p = optString(obj, key, path);
    return p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p);
  };
  const cert = optString(obj, 'cert', path);
  const certFile = file('cert_file');
  const key = optString(obj, 'key', path);
  const keyFile = file('key_file');
  const clientCa = optString(obj, 'client_ca', path);
  const clientCaFile = file('client_ca_file');

  const hasCert = cert !== undefined || certFile !== undefined;
  const hasKey = key !== undefined || keyFile !== undefined;
  if (!hasCert && !hasKey) {
    // exporter-toolkit: a TLS section without certificate or key means plain HTTP.
    const others = Object.keys(obj).filter((k) => obj[k] !== null && obj[k] !== '');
    if (others.length > 0) fail(path, 'cert_file (or cert) and key_file (or key) are required');
    return undefined;
  }
  if (cert !== undefined && certFile !== undefined) fail(path, 'set cert or cert_file, not both');
  if (key !== undefined && keyFile !== undefined) fail(path, 'set key or key_file, not both');
  if (clientCa !== undefined && clientCaFile !== undefined) fail(path, 'set client_ca or client_ca_file, not both');
  if (!hasCert) fail(path, 'missing cert_file (or cert)');
  if (!hasKey) fail(path, 'missing key_file (or key)');

  const authText = optString(obj, 'client_auth_type', path) ?? 'NoClientCert';
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(authText)) {
    fail(`${path}.client_auth_type`, `unknown value ${JSON.stringify(authText)} (expected ${CLIENT_AUTH_TYPES.join(', ')})`);
  }
  const clientAuthType = authText as ClientAuthType;
  const hasCa = clientCa !== undefined || clientCaFile !== undefined;
  if (hasCa && clientAuthType === 'NoClientCert') {
    fail(path, 'client_ca_file is set but client_auth_type is NoClientCert');
  }
  if (!hasCa && (clientAuthType === 'VerifyClientCertIfGiven' || clientAuthType === 'RequireAndVerifyClientCert')) {
    fail(path, `client_auth_type ${clientAuthType} needs client_ca_file (or client_ca)`);
  }
  const clientAllowedSans = stringList(obj, 'client_allowed_sans', path);
  if (
    clientAllowedSans.length > 0 &&
    clientAuthType !== 'RequireAnyClientCert' &&
    clientAuthType !== 'RequireAndVerifyClientCert'
  ) {
    fail(path, 'client_allowed_sans needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
  }

  const minVersion = tlsVersion(obj, 'min_version', path, 'TLSv1.2');
  const maxVersion = tlsVersion(obj, 'max_version', path, 'TLSv1.3');
  if (TLS_VERSION_ORDER.indexOf(minVersion) > TLS_VERSION_ORDER.indexOf(maxVersion)) {
    fail(path, 'min_version is above max_version');
  }
  const suiteNames = stringList(obj, 'cipher_suites', path);
  const cipherSuites: string[] = [];
  let tls13Listed = false;
  for (const name of suiteNames) {
    if (TLS13_SUITES.includes(name)) {
      tls13Listed = true;
      continue;
    }
    const openssl = CIPHER_SUITES[name];
    if (openssl === undefined) {
      fail(`${path}.cipher_suites`, `unknown cipher suite ${JSON.stringify(name)} (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; see docs/web-configuration.md)`);
    }
    cipherSuites.push(openssl);
  }
  if (suiteNames.length > 0 && cipherSuites.length === 0 && minVersion !== 'TLSv1.3') {
    fail(`${path}.cipher_suites`, 'lists no TLS 1.2 suite, so no TLS 1.2 client could connect (TLS 1.3 suites are not configurable)');
  }
  if (tls13Listed) {
    warnings.push('tls_server_config.cipher_suites: TLS 1.3 suites are not configurable (as in Go) and are ignored; all of them stay enabled');
  }
  const curvePreferences = stringList(obj, 'curve_preferences', path).map((name) => {
    const group = CURVES[name];
    if (group === undefined) {
      fail(`${path}.curve_preferences`, `unknown curve ${JSON.stringify(name)} (expected ${Object.keys(CURVES).join(', ')})`);
    }
    return group;
  });

  return Object.freeze({
    ...(cert !== undefined ? { cert } : {}),
    ...(certFile !== undefined ? { certFile } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
    ...(clientCa !== undefined ? { clientCa } : {}),
    ...(clientCaFile !== undefined ? { clientCaFile } : {}),
    clientAuthType,
    clientAllowedSans: Object.freeze(clientAllowedSans),
    minVersion,
    maxVersion,
    preferServerCipherSuites: optBool(obj, 'prefer_server_cipher_suites', path, true),
    cipherSuites: Object.freeze(cipherSuites),
    curvePreferences: Object.freeze(curvePreferences),
  });
}

/** Fails unless node:http accepts the header as is (res.setHeader would throw on every request). */
function checkHeader(name: string, value: string, path: string): void {
  try {
    http.validateHeaderName(name);
    if (value !== '') http.validateHeaderValue(name, value);
  } catch {
    // What Node refuses: characters outside Latin-1 and control characters other than tab.
    const bad = [...value].find((c) => !/^[\t\x20-\x7e\x80-\xff]$/.test(c)) ?? '';
    const code = bad === '' ? '' : ` U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    fail(path, `character${code} can not be sent in an HTTP header (only Latin-1 without control characters; typographic quotes are a common cause)`);
  }
}

function parseHttpServerConfig(value: unknown, warnings: string[]): Map<string, string> {
  const path = 'http_server_config';
  const headers = new Map<string, string>();
  const obj = section(value, path);
  if (obj === undefined) return headers;
  checkKeys(obj, path, ['http2', 'headers']);
  // http2: false needs nothing (the exporter speaks HTTP/1.1 only); true is worth a warning.
  if (optBool(obj, 'http2', path, false)) {
    warnings.push('http_server_config.http2 is ignored: linkstate-exporter serves HTTP/1.1 only');
  }
  const h = section(obj['headers'], `${path}.headers`);
  if (h === undefined) return headers;
  for (const [name, raw] of Object.entries(h)) {
    const canonical = Object.keys(CONFIGURABLE_HEADERS).find((k) => k.toLowerCase() === name.toLowerCase());
    if (canonical === undefined) {
      fail(`${path}.headers`, `HTTP header ${JSON.stringify(name)} can not be configured (allowed: ${Object.keys(CONFIGURABLE_HEADERS).join(', ')})`);
    }
    if (raw !== null && typeof raw !== 'string') fail(`${path}.headers.${name}`, `expected a string, got ${describe(raw)}`);
    const v = raw ?? '';
    if (/[\r\n\0]/.test(v)) fail(`${path}.headers.${name}`, 'value contains a line break or NUL');
    checkHeader(canonical, v, `${path}.headers.${name}`);
    const allowed = CONFIGURABLE_HEADERS[canonical];
    if (v !== '' && allowed !== undefined && !allowed.includes(v.toLowerCase())) {
      fail(`${path}.headers.${name}`, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    }
    headers.set(canonical, v);
  }
  return headers;
}

function parseUsers(value: unknown): Map<string, string> {
  const path = 'basic_auth_users';
  const users = new Map<string, string>();
  const obj = section(value, path);
  if (obj === undefined) return users;
  for (const [user, hash] of Object.entries(obj)) {
    if (user === '' || user.includes(':')) fail(path, `user name ${JSON.stringify(user)} must be non-empty and without ":"`);
    if (typeof hash !== 'string' || !BCRYPT_HASH.test(hash)) {
      // Never echo the value: it may be a plain-text password put there by mistake.
      fail(`${path}.${user}`, 'expected a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-12), e.g. from "htpasswd -nBC 10 \'\'"');
    }
    const costProblem = bcryptCostProblem(hash);
    if (costProblem !== undefined) fail(`${path}.${user}`, costProblem);
    users.set(user, hash);
  }
  return users;
}

export function parseWebConfig(text: string, baseDir: string): WebConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    fail('', `invalid YAML: ${first.message.split('\n')[0] ?? first.message}`);
  }
  const root = section(doc.toJS({ maxAliasCount: 100 }) as unknown, '(top level)') ?? {};
  checkKeys(root, '', ['tls_server_config', 'http_server_config', 'basic_auth_users'], {
    rate_limit: 'not supported by linkstate-exporter; --web.max-requests limits parallel scrapes',
  });
  const warnings: string[] = [];
  const tls = parseTls(root['tls_server_config'], baseDir, warnings);
  const headers = parseHttpServerConfig(root['http_server_config'], warnings);
  const basicAuthUsers = parseUsers(root['basic_auth_users']);
  return Object.freeze({
    ...(tls !== undefined ? { tls } : {}),
    basicAuthUsers,
    headers,
    warnings: Object.freeze(warnings),
  });
}
