// tls_server_config.cipher_suites: Go's names (the list exporter-toolkit accepts) mapped to
// OpenSSL's for TLS 1.2; TLS 1.3 suites are not configurable, as in Go.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebConfig, WebConfigError } from '../../src/web/web-config.js';

const tls = (suites: string, extra = ''): string => `tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: ${suites}\n${extra}`;

test('cipher_suites: Go names become OpenSSL names, in order, without a warning', () => {
  const c = parseWebConfig(
    tls('[TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_128_GCM_SHA256]'),
    '/d',
  );
  assert.deepEqual(c.tls?.cipherSuites, ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-RSA-AES128-SHA', 'AES128-GCM-SHA256']);
  assert.deepEqual(c.warnings, []);
});

test('cipher_suites absent or empty: OpenSSL defaults (no list)', () => {
  assert.deepEqual(parseWebConfig(tls('[]'), '/d').tls?.cipherSuites, []);
  assert.deepEqual(parseWebConfig('tls_server_config:\n  cert_file: a\n  key_file: b\n', '/d').tls?.cipherSuites, []);
});

test('cipher_suites: TLS 1.3 names are accepted and ignored with a warning', () => {
  const c = parseWebConfig(tls('[TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]'), '/d');
  assert.deepEqual(c.tls?.cipherSuites, ['ECDHE-ECDSA-AES128-GCM-SHA256']);
  assert.equal(c.warnings.length, 1);
  assert.match(c.warnings[0] ?? '', /TLS 1\.3 .*not configurable/);
  // Only TLS 1.3 suites with TLS 1.3 only: nothing to configure, nothing wrong.
  assert.deepEqual(parseWebConfig(tls('[TLS_AES_256_GCM_SHA384]', '  min_version: TLS13\n'), '/d').tls?.cipherSuites, []);
});

test('cipher_suites: unknown names, OpenSSL spellings and an empty TLS 1.2 list are one-line errors', () => {
  const cases: Array<[string, RegExp]> = [
    ['[TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA257]', /cipher_suites: unknown cipher suite "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA257"/],
    ['[ECDHE-RSA-AES128-GCM-SHA256]', /unknown cipher suite "ECDHE-RSA-AES128-GCM-SHA256" \(Go's names/],
    ['[tls_ecdhe_rsa_with_aes_128_gcm_sha256]', /unknown cipher suite/],
    ['[TLS_RSA_WITH_RC4_128_SHA]', /unknown cipher suite/],
    ['[TLS_AES_128_GCM_SHA256]', /no TLS 1\.2 suite/],
    ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', /expected a list of strings/],
  ];
  for (const [suites, pattern] of cases) {
    assert.throws(
      () => parseWebConfig(tls(suites), '/d'),
      (err: unknown) => {
        assert.ok(err instanceof WebConfigError, String(err));
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes('\n'));
        return true;
      },
      suites,
    );
  }
});
