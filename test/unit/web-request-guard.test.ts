// What a web config may hold is checked as Node's HTTP layer will check it, and nothing that
// slips through anyway (or a route that throws) can throw out of the request handler: the
// request is answered 500, logged, and the server goes on serving.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { createApp, startServer, type App, type Exposition, type MetricsSource } from '../../src/web/server.js';
import { ConfigError } from '../../src/runtime/config-error.js';
import { createLogger } from '../../src/runtime/logger.js';
import { parseWebConfig, WebConfigError } from '../../src/web/web-config.js';
import { WebLayer } from '../../src/web/web-layer.js';
import { guardRequests } from '../../src/web/request-guard.js';
import { request } from '../helpers/http-request.js';

const source: MetricsSource = {
  async expose(): Promise<Exposition> {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: [Buffer.from('up 1\n')] };
  },
};

function logger(lines: string[]): ReturnType<typeof createLogger> {
  return createLogger({ level: 'debug', format: 'json', destination: { write: (l: string) => lines.push(l) } });
}

test('header values Node would refuse are a one-line config error naming the header', () => {
  const cases: Array<[string, RegExp]> = [
    // Typographic quotes (U+2019): outside Latin-1, res.setHeader throws ERR_INVALID_CHAR.
    ['Content-Security-Policy: "default-src \u2019self\u2019"', /Content-Security-Policy: .*U\+2019/],
    ['X-XSS-Protection: "1; mode=block\\u0001"', /X-XSS-Protection: .*U\+0001/],
    ['Strict-Transport-Security: "max-age=1\\u007f"', /Strict-Transport-Security: .*U\+007F/],
  ];
  for (const [line, pattern] of cases) {
    assert.throws(
      () => parseWebConfig(`http_server_config:\n  headers:\n    ${line}\n`, '/d'),
      (err: unknown) => {
        assert.ok(err instanceof WebConfigError, String(err));
        assert.match(err.message, pattern);
        assert.ok(!err.message.includes('\n'), err.message);
        return true;
      },
      line,
    );
  }
  // Latin-1 and tabs are what Node accepts, so they stay allowed.
  const ok = parseWebConfig('http_server_config:\n  headers:\n    Content-Security-Policy: "default-src \'self\';\\tcaf\u00e9"\n', '/d');
  assert.equal(ok.headers.get('Content-Security-Policy'), "default-src 'self';\tcaf\u00e9");
});

test('start-up with a header Node would refuse is a one-line ConfigError', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lse-guard-'));
  try {
    const path = join(dir, 'web.yml');
    writeFileSync(path, 'http_server_config:\n  headers:\n    Content-Security-Policy: "default-src \u2019self\u2019"\n');
    const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger: logger([]) });
    await assert.rejects(startServer(app, { host: '127.0.0.1', port: 0 }, { webConfigFile: path }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /^--web\.config\.file .*web\.yml: http_server_config\.headers\.Content-Security-Policy: /);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A server whose handler is the guarded web layer in front of `app`, as web-config-server builds it. */
async function guardedServer(layer: WebLayer, app: App, logs: string[]): Promise<{ base: string; close(): Promise<void> }> {
  const log = logger(logs);
  const inner = guardRequests(log, app);
  const server = http.createServer(guardRequests(log, (req, res) => layer.handle(req, res, () => inner(req, res))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('a header that makes setHeader throw answers 500 and the server keeps serving', { timeout: 10_000 }, async () => {
  const logs: string[] = [];
  // Bypasses the parser: what if something it does not know about got through.
  const layer = new WebLayer(false, {
    basicAuthUsers: new Map(),
    headers: new Map([['Content-Security-Policy', 'default-src \u2019self\u2019']]),
    warnings: [],
  });
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger: logger(logs) });
  const s = await guardedServer(layer, app, logs);
  try {
    for (let i = 0; i < 3; i++) {
      const res = await request(s.base, '/metrics');
      assert.equal(res.status, 500);
      assert.equal(res.body.toString(), 'Internal Server Error\n');
      assert.ok(!res.body.toString().includes('ERR_INVALID_CHAR'), 'no internals in the answer');
    }
    assert.equal(logs.filter((l) => l.includes('"level":"error"') && l.includes('ERR_INVALID_CHAR')).length, 3, logs.join(''));
    // A fixed config serves again.
    layer.update({ basicAuthUsers: new Map(), headers: new Map(), warnings: [] });
    assert.equal((await request(s.base, '/metrics')).status, 200);
  } finally {
    await s.close();
  }
});

test('a route that throws, before or after basic auth, answers 500 and the server keeps serving', { timeout: 10_000 }, async () => {
  const logs: string[] = [];
  const hash = bcrypt.hashSync('pw', 4);
  const throwing = ((req: http.IncomingMessage) => {
    throw new Error(`route broke for ${req.url}`);
  }) as unknown as App;
  for (const users of [new Map<string, string>(), new Map([['alice', hash]])]) {
    const layer = new WebLayer(false, { basicAuthUsers: users, headers: new Map(), warnings: [] });
    const s = await guardedServer(layer, throwing, logs);
    try {
      const auth = { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` };
      for (let i = 0; i < 2; i++) {
        const res = await request(s.base, '/x', { headers: auth });
        assert.equal(res.status, 500, `users=${users.size}`);
        assert.ok(!res.body.toString().includes('route broke'));
      }
    } finally {
      await s.close();
    }
  }
  assert.equal(logs.filter((l) => l.includes('route broke')).length, 4);
});

test('an async handler whose promise rejects answers 500', { timeout: 10_000 }, async () => {
  const logs: string[] = [];
  const layer = new WebLayer(false, { basicAuthUsers: new Map(), headers: new Map(), warnings: [] });
  const rejecting = (async () => {
    await Promise.resolve();
    throw new Error('late failure');
  }) as unknown as App;
  const s = await guardedServer(layer, rejecting, logs);
  try {
    assert.equal((await request(s.base, '/')).status, 500);
    assert.ok(logs.some((l) => l.includes('late failure')));
  } finally {
    await s.close();
  }
});
