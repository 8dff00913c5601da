import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { parseWebConfig, WebConfigError } from '../../src/web/web-config.js';
import { parseBasicAuthorization } from '../../src/web/basic-auth.js';
import { subjectAltNames } from '../../src/web/tls-policy.js';

const HASH = bcrypt.hashSync('secret', 4);

test('empty file: plain HTTP, no users, no headers', () => {
  for (const text of ['', '# nothing\n', '---\n', 'tls_server_config:\n']) {
    const c = parseWebConfig(text, '/etc/x');
    assert.equal(c.tls, undefined, JSON.stringify(text));
    assert.equal(c.basicAuthUsers.size, 0);
    assert.equal(c.headers.size, 0);
  }
});

test('full file: paths resolved against the config directory, defaults filled in', () => {
  const c = parseWebConfig(
    [
      'tls_server_config:',
      '  cert_file: server.crt',
      '  key_file: /abs/server.key',
      '  client_auth_type: RequireAndVerifyClientCert',
      '  client_ca_file: ../ca/ca.crt',
      '  client_allowed_sans: [scraper.example]',
      '  min_version: TLS13',
      '  curve_preferences: [X25519, CurveP256]',
      'http_server_config:',
      '  headers:',
      '    x-frame-options: sameorigin',
      '    Content-Security-Policy: ""',
      'basic_auth_users:',
      `  prometheus: ${HASH}`,
    ].join('\n'),
    '/etc/linkstate',
  );
  assert.ok(c.tls !== undefined);
  assert.equal(c.tls.certFile, '/etc/linkstate/server.crt');
  assert.equal(c.tls.keyFile, '/abs/server.key');
  assert.equal(c.tls.clientCaFile, '/etc/ca/ca.crt');
  assert.equal(c.tls.clientAuthType, 'RequireAndVerifyClientCert');
  assert.deepEqual(c.tls.clientAllowedSans, ['scraper.example']);
  assert.equal(c.tls.minVersion, 'TLSv1.3');
  assert.equal(c.tls.maxVersion, 'TLSv1.3');
  assert.equal(c.tls.preferServerCipherSuites, true);
  assert.deepEqual(c.tls.curvePreferences, ['X25519', 'P-256']);
  assert.deepEqual([...c.headers], [
    ['X-Frame-Options', 'sameorigin'],
    ['Content-Security-Policy', ''],
  ]);
  assert.deepEqual([...c.basicAuthUsers], [['prometheus', HASH]]);
  assert.deepEqual(c.warnings, []);
});

test('TLS 1.3 cipher_suites and http2 are accepted with a warning', () => {
  const c = parseWebConfig(
    'tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\nhttp_server_config:\n  http2: true\n',
    '/d',
  );
  assert.equal(c.warnings.length, 2);
  assert.match(c.warnings[0] ?? '', /TLS 1\.3 suites are not configurable/);
  assert.match(c.warnings[1] ?? '', /http2 is ignored/);
});

const BAD: Array<[string, string, RegExp]> = [
  ['not YAML', 'a: [1', /^invalid YAML: /],
  ['duplicate key', 'basic_auth_users: {}\nbasic_auth_users: {}\n', /invalid YAML/],
  ['top level is a list', '- a\n', /expected a mapping, got a list/],
  ['unknown top-level key', 'tls_config: {}\n', /unknown key "tls_config"/],
  ['rate_limit', 'rate_limit:\n  interval: 1s\n', /^rate_limit: not supported/],
  ['unknown TLS key', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n', /tls_server_config: unknown key "certfile"/],
  ['cert without key', 'tls_server_config:\n  cert_file: a\n', /missing key_file/],
  ['key without cert', 'tls_server_config:\n  key_file: a\n', /missing cert_file/],
  ['cert and cert_file', 'tls_server_config:\n  cert: x\n  cert_file: a\n  key_file: b\n', /cert or cert_file, not both/],
  ['client auth without cert', 'tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n', /required/],
  ['bad client_auth_type', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Required\n', /client_auth_type: unknown value "Required"/],
  ['verify without CA', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n', /needs client_ca_file/],
  ['CA without client auth', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n', /client_auth_type is NoClientCert/],
  ['SANs without a required cert', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequestClientCert\n  client_allowed_sans: [x]\n', /client_allowed_sans needs/],
  ['bad TLS version', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n', /min_version: unknown TLS version "TLS14"/],
  ['min above max', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n', /min_version is above max_version/],
  ['bad curve', 'tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P256]\n', /unknown curve "P256"/],
  ['cert_file not a string', 'tls_server_config:\n  cert_file: [a]\n  key_file: b\n', /cert_file: expected a string, got a list/],
  ['reserved header Content-Type', 'http_server_config:\n  headers:\n    Content-Type: text/html\n', /HTTP header "Content-Type" can not be configured/],
  ['reserved header Content-Encoding', 'http_server_config:\n  headers:\n    Content-Encoding: gzip\n', /can not be configured/],
  ['reserved header Authorization', 'http_server_config:\n  headers:\n    Authorization: x\n', /can not be configured/],
  ['bad X-Frame-Options', 'http_server_config:\n  headers:\n    X-Frame-Options: allow\n', /expected one of deny, sameorigin/],
  ['bad X-Content-Type-Options', 'http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n', /expected one of nosniff/],
  ['header injection', 'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\r\\nSet-Cookie: x"\n', /line break/],
  ['unknown http key', 'http_server_config:\n  http3: true\n', /unknown key "http3"/],
  ['plain-text password', 'basic_auth_users:\n  alice: hunter2\n', /basic_auth_users.alice: expected a bcrypt hash/],
  ['user with colon', `basic_auth_users:\n  "a:b": ${HASH}\n`, /without ":"/],
  ['bcrypt cost above the ceiling', `basic_auth_users:\n  alice: ${HASH.replace('$04$', '$13$')}\n`, /^basic_auth_users\.alice: bcrypt cost 13 is above the maximum of 12 /],
  ['bcrypt cost 31', `basic_auth_users:\n  alice: ${HASH.replace('$04$', '$31$')}\n`, /^basic_auth_users\.alice: bcrypt cost 31 is above the maximum of 12 /],
];

for (const [name, text, pattern] of BAD) {
  test(`invalid web config: ${name}`, () => {
    assert.throws(
      () => parseWebConfig(text, '/d'),
      (err: unknown) => {
        assert.ok(err instanceof WebConfigError, String(err));
        assert.equal(err.code, 'WEB_CONFIG');
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes('\n'), `one line: ${JSON.stringify(err.message)}`);
        return true;
      },
    );
  });
}

test('a plain-text password is never echoed in the error', () => {
  assert.throws(() => parseWebConfig('basic_auth_users:\n  alice: hunter2\n', '/d'), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.ok(!err.message.includes('hunter2'));
    return true;
  });
});

test('parseBasicAuthorization', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  assert.deepEqual(parseBasicAuthorization(`Basic ${b64('alice:pa:ss')}`), { user: 'alice', password: 'pa:ss' });
  assert.deepEqual(parseBasicAuthorization(`basic ${b64('alice:')}`), { user: 'alice', password: '' });
  assert.deepEqual(parseBasicAuthorization(`Basic ${b64('ünï:cödé')}`), { user: 'ünï', password: 'cödé' });
  assert.equal(parseBasicAuthorization(undefined), undefined);
  assert.equal(parseBasicAuthorization(`Bearer ${b64('a:b')}`), undefined);
  assert.equal(parseBasicAuthorization(`Basic ${b64('nocolon')}`), undefined);
  assert.equal(parseBasicAuthorization('Basic !!!'), undefined);
});

test('subjectAltNames', () => {
  assert.deepEqual(subjectAltNames('DNS:a.example, IP Address:127.0.0.1, URI:spiffe://x/y, email:a@b'), [
    'a.example',
    '127.0.0.1',
    'spiffe://x/y',
    'a@b',
  ]);
  assert.deepEqual(subjectAltNames('URI:"http://x/a,b", DNS:c'), ['http://x/a,b', 'c']);
  assert.deepEqual(subjectAltNames(undefined), []);
});
