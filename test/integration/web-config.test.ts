// --web.config.file end to end on 127.0.0.1: real TLS clients, client certificates, basic
// auth, headers, and reloads (certificate rotation, an invalid file later) — with
// certificates made by openssl at test time.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import bcrypt from 'bcryptjs';
import { createApp, startServer, type Exposition, type MetricsSource, type RunningServer, type StartOptions } from '../../src/web/server.js';
import { ConfigError } from '../../src/runtime/config-error.js';
import { createLogger } from '../../src/runtime/logger.js';
import { request, type TestResponse } from '../helpers/http-request.js';
import { TestPki, type CertFiles } from '../helpers/test-certs.js';

const source: MetricsSource = {
  async expose(): Promise<Exposition> {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: [Buffer.from('up 1\n')] };
  },
};

let pki: TestPki;
let ca: CertFiles;
let otherCa: CertFiles;
let serverCert: CertFiles;
let client: CertFiles;
let rogueClient: CertFiles;
let configCount = 0;

before(() => {
  pki = new TestPki();
  ca = pki.makeCa('ca');
  otherCa = pki.makeCa('otherca');
  serverCert = pki.makeCert('server', ca, { kind: 'server' });
  client = pki.makeCert('client', ca, { kind: 'client' });
  rogueClient = pki.makeCert('rogue', otherCa, { kind: 'client' });
});

after(() => pki.cleanup());

/** Writes the config atomically (rename into place), as editors and config managers do. */
function writeConfig(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function newConfig(text: string): string {
  configCount += 1;
  const path = join(pki.dir, `web-${configCount}.yml`);
  writeConfig(path, text);
  return path;
}

async function start(
  configText: string,
  opts: Partial<StartOptions> = {},
): Promise<{ running: RunningServer; base: string; logs: string[]; path: string }> {
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (l: string) => logs.push(l) } });
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 'test', logger });
  const path = newConfig(configText);
  const running = await startServer(app, { host: '127.0.0.1', port: 0 }, {
    webConfigFile: path,
    logger,
    reload: { debounceMs: 50, pollMs: 0 },
    ...opts,
  });
  return { running, base: `${running.tls ? 'https' : 'http'}://${running.address}`, logs, path };
}

/**
 * For tests that reload by hand: no watcher-driven reload fires while they run (one in progress
 * when the test writes the file could apply it first, and the test's own reload would then find
 * it unchanged).
 */
const MANUAL_RELOAD: Partial<StartOptions> = { reload: { debounceMs: 3_600_000, pollMs: 0 } };

function tlsConfig(extra = ''): string {
  return `tls_server_config:\n  cert_file: ${serverCert.certFile}\n  key_file: ${serverCert.keyFile}\n${extra}`;
}

/** Serial number of the certificate a fresh TLS connection is shown. */
function peerSerial(address: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

test('TLS: a client trusting our CA gets metrics; a client trusting another CA is refused', async () => {
  const { running, base } = await start(tlsConfig());
  try {
    assert.equal(running.tls, true);
    const ok = await request(base, '/metrics', { tls: { ca: ca.cert, agent: false } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'up 1\n');
    assert.equal(ok.headers['strict-transport-security'], 'max-age=31536000');
    assert.equal(ok.headers['x-content-type-options'], 'nosniff');
    await assert.rejects(request(base, '/metrics', { tls: { ca: otherCa.cert, agent: false } }), (err: Error & { code?: string }) => {
      assert.match(String(err.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
      return true;
    });
    // Plain HTTP to the TLS port gets no metrics.
    const plain = await request(`http://${running.address}`, '/metrics').catch((err: Error) => err);
    assert.ok(plain instanceof Error || plain.status !== 200);
  } finally {
    await running.close();
  }
});

test('TLS: min_version TLS13 refuses a TLS 1.2 client', async () => {
  const { running, base } = await start(tlsConfig('  min_version: TLS13\n'));
  try {
    assert.equal((await request(base, '/metrics', { tls: { ca: ca.cert, agent: false } })).status, 200);
    await assert.rejects(request(base, '/metrics', { tls: { ca: ca.cert, agent: false, maxVersion: 'TLSv1.2' } }));
  } finally {
    await running.close();
  }
});

test('RequireAndVerifyClientCert: only a client certificate from the client CA gets in', async () => {
  const { running, base } = await start(
    tlsConfig(`  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n`),
  );
  try {
    const ok = await request(base, '/metrics', { tls: { ca: ca.cert, cert: client.cert, key: client.key, agent: false } });
    assert.equal(ok.status, 200);
    await assert.rejects(request(base, '/metrics', { tls: { ca: ca.cert, agent: false } }), 'no client certificate');
    await assert.rejects(
      request(base, '/metrics', { tls: { ca: ca.cert, cert: rogueClient.cert, key: rogueClient.key, agent: false } }),
      'certificate from another CA',
    );
  } finally {
    await running.close();
  }
});

test('RequireAnyClientCert with client_allowed_sans: any CA, but the SAN must be listed', async () => {
  const { running, base, logs } = await start(
    tlsConfig(`  client_auth_type: RequireAnyClientCert\n  client_ca_file: ${ca.certFile}\n  client_allowed_sans: [client.example]\n`),
  );
  try {
    const ok = await request(base, '/metrics', { tls: { ca: ca.cert, cert: client.cert, key: client.key, agent: false } });
    assert.equal(ok.status, 200);
    await assert.rejects(
      request(base, '/metrics', { tls: { ca: ca.cert, cert: rogueClient.cert, key: rogueClient.key, agent: false } }),
      'rogue.example is not an allowed SAN',
    );
    await assert.rejects(request(base, '/metrics', { tls: { ca: ca.cert, agent: false } }), 'no certificate');
    assert.ok(logs.some((l) => l.includes('allowed SANs')), 'refusal logged at debug');
  } finally {
    await running.close();
  }
});

test('VerifyClientCertIfGiven: no certificate is fine, a bad one is not', async () => {
  const { running, base } = await start(
    tlsConfig(`  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${ca.certFile}\n`),
  );
  try {
    assert.equal((await request(base, '/metrics', { tls: { ca: ca.cert, agent: false } })).status, 200);
    assert.equal(
      (await request(base, '/metrics', { tls: { ca: ca.cert, cert: client.cert, key: client.key, agent: false } })).status,
      200,
    );
    await assert.rejects(
      request(base, '/metrics', { tls: { ca: ca.cert, cert: rogueClient.cert, key: rogueClient.key, agent: false } }),
    );
  } finally {
    await running.close();
  }
});

test('basic auth: missing, wrong and unknown credentials get 401 with WWW-Authenticate; right ones pass', async () => {
  const hash = bcrypt.hashSync('s3cret', 4);
  const { running, base } = await start(`basic_auth_users:\n  prometheus: ${hash}\n`);
  try {
    assert.equal(running.tls, false);
    const check401 = (res: TestResponse, why: string): void => {
      assert.equal(res.status, 401, why);
      assert.match(String(res.headers['www-authenticate']), /^Basic realm="linkstate-exporter"/, why);
      assert.equal(res.body.toString(), 'Unauthorized\n', why);
    };
    check401(await request(base, '/metrics'), 'missing');
    check401(await request(base, '/metrics', { headers: basic('prometheus', 'wrong') }), 'wrong password');
    check401(await request(base, '/metrics', { headers: basic('nobody', 's3cret') }), 'unknown user');
    check401(await request(base, '/'), 'landing page too');
    check401(await request(base, '/api/v1/links'), 'the API too');
    // Probes need no credentials (they reveal nothing): a liveness probe must not restart a
    // hardened exporter. Only these exact paths; other spellings stay protected.
    for (const path of ['/-/healthy', '/-/ready', '/-/ready?x=1']) {
      const res = await request(base, path);
      assert.equal(res.status, 200, path);
      assert.equal(res.body.toString(), 'OK\n', path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', 'the configured headers still apply');
    }
    check401(await request(base, '/-/healthy/'), 'a trailing slash is another path');
    check401(await request(base, '/-/HEALTHY'), 'case matters');
    check401(await request(base, '/-/healthy/../../metrics'), 'no way from a probe path to another');
    const ok = await request(base, '/metrics', { headers: basic('prometheus', 's3cret') });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'up 1\n');
    assert.equal(ok.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
  } finally {
    await running.close();
  }
});

test('basic auth over TLS with the configured headers', async () => {
  const hash = bcrypt.hashSync('pw', 4);
  const { running, base } = await start(
    tlsConfig() +
      `basic_auth_users:\n  alice: ${hash}\nhttp_server_config:\n  headers:\n` +
      `    Content-Security-Policy: "default-src 'self'"\n    X-Frame-Options: sameorigin\n    Strict-Transport-Security: ""\n`,
  );
  try {
    const res = await request(base, '/', { tls: { ca: ca.cert, agent: false }, headers: basic('alice', 'pw') });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-security-policy'], "default-src 'self'", 'configured CSP wins on the landing page');
    assert.equal(res.headers['x-frame-options'], 'sameorigin');
    assert.equal(res.headers['strict-transport-security'], undefined, 'empty value removes the default');
    const denied = await request(base, '/metrics', { tls: { ca: ca.cert, agent: false } });
    assert.equal(denied.status, 401);
    for (const path of ['/-/healthy', '/-/ready']) {
      // As the kubelet probes over HTTPS: no credentials, no certificate verification.
      const probe = await request(base, path, { tls: { rejectUnauthorized: false, agent: false } });
      assert.equal(probe.status, 200, path);
    }
    assert.equal(denied.headers['x-frame-options'], 'sameorigin', 'headers on 401 too');
  } finally {
    await running.close();
  }
});

test('start-up: an invalid file is one line naming the file', async () => {
  const cases: Array<[string, RegExp]> = [
    ['tls_server_config:\n  cert_file: a.crt\n', /missing key_file/],
    [`tls_server_config:\n  cert_file: ${serverCert.certFile}\n  key_file: /nonexistent/x.key\n`, /key_file: cannot read \/nonexistent\/x\.key: no such file or directory \(ENOENT\)/],
    [`tls_server_config:\n  cert_file: ${serverCert.certFile}\n  key_file: ${client.keyFile}\n`, /key does not belong to the certificate/],
    [`tls_server_config:\n  cert_file: ${ca.keyFile}\n  key_file: ${serverCert.keyFile}\n`, /invalid certificate or key/],
    ['basic_auth_users:\n  a: plain\n', /expected a bcrypt hash/],
    [`basic_auth_users:\n  a: $2y$15$${'a'.repeat(53)}\n`, /basic_auth_users\.a: bcrypt cost 15 is above the maximum of 12/],
    [
      `tls_server_config:\n  cert_file: ${serverCert.certFile}\n  key_file: ${serverCert.keyFile}\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n`,
      /cipher_suites: no suite for the certificate's ec key \(ECDSA suites\)/,
    ],
    ['{', /invalid YAML/],
  ];
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger: createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } }) });
  for (const [text, pattern] of cases) {
    const path = newConfig(text);
    await assert.rejects(startServer(app, { host: '127.0.0.1', port: 0 }, { webConfigFile: path }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.ok(err.message.startsWith(`--web.config.file ${path}: `), err.message);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
  await assert.rejects(
    startServer(app, { host: '127.0.0.1', port: 0 }, { webConfigFile: join(pki.dir, 'missing.yml') }),
    /--web\.config\.file .*missing\.yml: cannot read .*\(ENOENT\)/,
  );
});

test('certificate rotation without restart: a new connection sees the new serial', async () => {
  const rotating = pki.makeCert('rotating', ca, { kind: 'server' });
  const certFile = join(pki.dir, 'live.crt');
  const keyFile = join(pki.dir, 'live.key');
  writeFileSync(certFile, rotating.cert);
  writeFileSync(keyFile, rotating.key);
  const { running, base, logs } = await start(`tls_server_config:\n  cert_file: ${certFile}\n  key_file: ${keyFile}\n`);
  try {
    assert.equal(await peerSerial(running.address), rotating.serial);
    const next = pki.makeCert('rotated', ca, { kind: 'server' });
    assert.notEqual(next.serial, rotating.serial);
    // Key first, then certificate: in between the pair does not match and must not be applied.
    writeFileSync(`${keyFile}.tmp`, next.key);
    renameSync(`${keyFile}.tmp`, keyFile);
    writeFileSync(`${certFile}.tmp`, next.cert);
    renameSync(`${certFile}.tmp`, certFile);
    await waitFor('the rotated certificate', async () => ((await peerSerial(running.address)) === next.serial ? true : undefined));
    const res = await request(base, '/metrics', { tls: { ca: ca.cert, agent: false } });
    assert.equal(res.status, 200);
    assert.ok(logs.some((l) => l.includes('web config reloaded') && l.includes(next.serial)), 'reload logged with the serial');
  } finally {
    await running.close();
  }
});

test('an invalid file later keeps the last good config; a valid one is then applied', async () => {
  const { running, base, logs, path } = await start(`basic_auth_users:\n  alice: ${bcrypt.hashSync('one', 4)}\n`);
  try {
    assert.equal((await request(base, '/metrics', { headers: basic('alice', 'one') })).status, 200);

    writeConfig(path, 'basic_auth_users:\n  alice: not-a-hash\n');
    await waitFor('the rejection in the log', () => (logs.some((l) => l.includes('keeping the last good one')) ? true : undefined));
    const line = logs.find((l) => l.includes('keeping the last good one')) ?? '';
    assert.match(line, /expected a bcrypt hash/);
    assert.ok(!line.includes('not-a-hash'), 'the bad value is not logged');
    assert.equal((await request(base, '/metrics', { headers: basic('alice', 'one') })).status, 200, 'old config still in force');
    assert.equal(await running.reloadWebConfig(), 'rejected');

    writeConfig(path, 'http_server_config:\n  headers:\n    Content-Type: text/html\n');
    assert.equal(await running.reloadWebConfig(), 'rejected', 'a reserved header is refused on reload too');

    writeConfig(path, `basic_auth_users:\n  alice: ${bcrypt.hashSync('two', 4)}\n`);
    await waitFor('the new password', async () =>
      (await request(base, '/metrics', { headers: basic('alice', 'two') })).status === 200 ? true : undefined,
    );
    assert.equal((await request(base, '/metrics', { headers: basic('alice', 'one') })).status, 401, 'old password no longer works');
    assert.equal(await running.reloadWebConfig(), 'unchanged');
  } finally {
    await running.close();
  }
});

test('a reload with a bcrypt cost above the ceiling is refused; the last good config stays', async () => {
  const { running, base, logs, path } = await start(`basic_auth_users:\n  alice: ${bcrypt.hashSync('one', 4)}\n`, MANUAL_RELOAD);
  try {
    writeConfig(path, `basic_auth_users:\n  alice: $2y$13$${'a'.repeat(53)}\n`);
    assert.equal(await running.reloadWebConfig(), 'rejected');
    const line = logs.find((l) => l.includes('keeping the last good one')) ?? '';
    assert.match(line, /basic_auth_users\.alice: bcrypt cost 13 is above the maximum of 12/);
    assert.equal((await request(base, '/metrics', { headers: basic('alice', 'one') })).status, 200, 'old config still in force');
  } finally {
    await running.close();
  }
});

test('switching from HTTP to HTTPS on reload is refused (needs a restart)', async () => {
  const { running, base, logs, path } = await start('', MANUAL_RELOAD);
  try {
    writeConfig(path, tlsConfig());
    assert.equal(await running.reloadWebConfig(), 'rejected');
    assert.ok(logs.some((l) => l.includes('needs a restart')));
    assert.equal((await request(base, '/metrics')).status, 200, 'still plain HTTP');
  } finally {
    await running.close();
  }
});

test('client_auth_type change on reload applies to new connections', async () => {
  const { running, base, path } = await start(tlsConfig(), MANUAL_RELOAD);
  try {
    assert.equal((await request(base, '/metrics', { tls: { ca: ca.cert, agent: false } })).status, 200);
    writeConfig(path, tlsConfig(`  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n`));
    assert.equal(await running.reloadWebConfig(), 'applied');
    await assert.rejects(request(base, '/metrics', { tls: { ca: ca.cert, agent: false } }));
    const ok = await request(base, '/metrics', { tls: { ca: ca.cert, cert: client.cert, key: client.key, agent: false } });
    assert.equal(ok.status, 200);
  } finally {
    await running.close();
  }
});

test('a reload that would remove every basic-auth user is refused and logged at error; changing users still reloads', async () => {
  const { running, base, logs, path } = await start(`basic_auth_users:\n  alice: ${bcrypt.hashSync('one', 4)}\n`, MANUAL_RELOAD);
  try {
    for (const text of ['', 'basic_auth_users:\n', 'basic_auth_users: {}\n', 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n']) {
      writeConfig(path, text);
      assert.equal(await running.reloadWebConfig(), 'rejected', JSON.stringify(text));
      assert.equal((await request(base, '/metrics')).status, 401, `still protected after ${JSON.stringify(text)}`);
      assert.equal((await request(base, '/metrics', { headers: basic('alice', 'one') })).status, 200);
    }
    const refusals = logs.filter((l) => l.includes('"level":"error"') && l.includes('keeping the last good one'));
    assert.ok(refusals.length >= 1, logs.join(''));
    assert.match(refusals[0] ?? '', /basic authentication off.*restart/);
    assert.ok(!logs.some((l) => l.includes('web config reloaded')), 'nothing was applied');

    writeConfig(path, `basic_auth_users:\n  bob: ${bcrypt.hashSync('two', 4)}\n`);
    assert.equal(await running.reloadWebConfig(), 'applied', 'replacing the users is fine');
    assert.equal((await request(base, '/metrics', { headers: basic('bob', 'two') })).status, 200);
    assert.equal((await request(base, '/metrics', { headers: basic('alice', 'one') })).status, 401);
  } finally {
    await running.close();
  }
});

test('adding basic auth on reload applies it', async () => {
  const { running, base, path } = await start('', MANUAL_RELOAD);
  try {
    assert.equal((await request(base, '/metrics')).status, 200);
    writeConfig(path, `basic_auth_users:\n  alice: ${bcrypt.hashSync('one', 4)}\n`);
    assert.equal(await running.reloadWebConfig(), 'applied');
    assert.equal((await request(base, '/metrics')).status, 401);
  } finally {
    await running.close();
  }
});

test('a reload that would remove TLS, or stop requiring a client certificate, is refused and logged at error', async () => {
  const mtls = tlsConfig(`  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n`);
  const { running, base, logs, path } = await start(mtls, MANUAL_RELOAD);
  const withCert = { tls: { ca: ca.cert, cert: client.cert, key: client.key, agent: false } };
  try {
    for (const [text, why] of [
      ['', /plain HTTP.*restart/],
      [tlsConfig(), /client certificate.*restart/],
      [tlsConfig(`  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${ca.certFile}\n`), /client certificate.*restart/],
      [tlsConfig(`  client_auth_type: RequireAnyClientCert\n  client_ca_file: ${ca.certFile}\n`), /stop verifying client certificates.*restart/],
    ] as const) {
      writeConfig(path, text);
      assert.equal(await running.reloadWebConfig(), 'rejected', text);
      assert.ok(logs.some((l) => l.includes('"level":"error"') && why.test(l)), `${why}: ${logs.join('')}`);
      await assert.rejects(request(base, '/metrics', { tls: { ca: ca.cert, agent: false } }), 'still needs a client certificate');
      assert.equal((await request(base, '/metrics', withCert)).status, 200);
    }
    // Still required and verified, now also limited to a SAN: applied.
    const withSans = tlsConfig(`  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n  client_allowed_sans: [client.example]\n`);
    writeConfig(path, withSans);
    assert.equal(await running.reloadWebConfig(), 'applied');
    assert.equal((await request(base, '/metrics', withCert)).status, 200);
    // The SAN list dropped again: any verified certificate would do; refused.
    writeConfig(path, mtls);
    assert.equal(await running.reloadWebConfig(), 'rejected');
    assert.ok(logs.some((l) => l.includes('"level":"error"') && /client_allowed_sans.*restart/.test(l)), logs.join(''));
  } finally {
    await running.close();
  }
});

/** The cipher a TLS 1.2 client offering only `ciphers` gets, or the error's code. */
function tls12Cipher(address: string, ciphers: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, ca: ca.cert, servername: 'localhost', maxVersion: 'TLSv1.2', ciphers }, () => {
      const name = socket.getCipher().standardName;
      socket.end();
      resolve(name);
    });
    socket.on('error', (err: Error & { code?: string }) => resolve(`refused: ${err.code ?? err.message}`));
  });
}

test('cipher_suites is honoured under TLS 1.2: a listed suite is used, others are refused; TLS 1.3 unaffected', async () => {
  const { running, base, path } = await start(tlsConfig('  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n'), MANUAL_RELOAD);
  try {
    assert.equal(await tls12Cipher(running.address, 'ECDHE-ECDSA-AES256-GCM-SHA384'), 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');
    for (const other of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
      assert.match(await tls12Cipher(running.address, other), /^refused: /, other);
    }
    // TLS 1.3 suites are not configurable (as in Go): a default client still gets TLS 1.3.
    const res = await request(base, '/metrics', { tls: { ca: ca.cert, agent: false } });
    assert.equal(res.status, 200);
    // A reload changes the list for new connections.
    writeConfig(path, tlsConfig('  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n'));
    assert.equal(await running.reloadWebConfig(), 'applied');
    assert.equal(await tls12Cipher(running.address, 'ECDHE-ECDSA-AES128-GCM-SHA256'), 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    assert.match(await tls12Cipher(running.address, 'ECDHE-ECDSA-AES256-GCM-SHA384'), /^refused: /);
  } finally {
    await running.close();
  }
});
