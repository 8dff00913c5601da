import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createApp, startServer, NOT_READY_TEXT, type Exposition, type MetricsSource, type RunningServer } from '../../src/web/server.js';
import { ConfigError } from '../../src/runtime/config-error.js';
import { createLogger } from '../../src/runtime/logger.js';
import { request } from '../helpers/http-request.js';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

class FakeSource implements MetricsSource {
  readonly calls: Array<{ openMetrics: boolean; gzip: boolean }> = [];
  fail = false;
  async expose(req: { openMetrics: boolean; gzip: boolean }): Promise<Exposition> {
    this.calls.push({ ...req });
    if (this.fail) throw new Error('secret internal detail at /srv/app.js:12');
    const text = req.openMetrics ? 'om_metric 1\n# EOF\n' : 'text_metric 1\n';
    const raw = Buffer.from(text);
    if (req.gzip) return { contentType: req.openMetrics ? OM : TEXT, body: [gzipSync(raw)], contentEncoding: 'gzip' };
    return { contentType: req.openMetrics ? OM : TEXT, body: [raw] };
  }
}

function silentLogger(lines: string[] = []): ReturnType<typeof createLogger> {
  return createLogger({ level: 'debug', format: 'json', destination: { write: (l: string) => lines.push(l) } });
}

async function withServer(
  fn: (base: string, ctx: { source: FakeSource; setReady(v: boolean): void; logs: string[]; running: RunningServer }) => Promise<void>,
  opts: { telemetryPath?: string } = {},
): Promise<void> {
  const source = new FakeSource();
  let ready = false;
  const logs: string[] = [];
  const app = createApp({
    source,
    telemetryPath: opts.telemetryPath ?? '/metrics',
    isReady: () => ready,
    version: '9.8.7<b>',
    logger: silentLogger(logs),
  });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  try {
    await fn(`http://${running.address}`, { source, setReady: (v) => (ready = v), logs, running });
  } finally {
    await running.close();
  }
}

test('telemetry path: text by default, no gzip, Vary set', async () => {
  await withServer(async (base, { source }) => {
    const res = await request(base, '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], TEXT);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.headers['vary'], 'Accept-Encoding, Accept');
    assert.equal(res.body.toString(), 'text_metric 1\n');
    assert.deepEqual(source.calls, [{ openMetrics: false, gzip: false }]);
  });
});

test('telemetry path: OpenMetrics and gzip negotiated from the request headers', async () => {
  await withServer(async (base, { source }) => {
    const res = await request(base, '/metrics', {
      headers: {
        accept: 'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
        'accept-encoding': 'gzip',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], OM);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(Number(res.headers['content-length']), res.body.length);
    assert.equal(gunzipSync(res.body).toString(), 'om_metric 1\n# EOF\n');
    assert.deepEqual(source.calls, [{ openMetrics: true, gzip: true }]);
  });
});

test('telemetry path: q-values decide, gzip;q=0 is honoured', async () => {
  await withServer(async (base, { source }) => {
    const res = await request(base, '/metrics', {
      headers: { accept: 'application/openmetrics-text;q=0.1,text/plain;q=0.9', 'accept-encoding': 'gzip;q=0, identity' },
    });
    assert.equal(res.headers['content-type'], TEXT);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), 'text_metric 1\n');
    assert.deepEqual(source.calls, [{ openMetrics: false, gzip: false }]);
  });
});

test('telemetry path: HEAD has headers and no body', async () => {
  await withServer(async (base) => {
    const res = await request(base, '/metrics', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], TEXT);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength('text_metric 1\n')));
    assert.equal(res.body.length, 0);
  });
});

for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
  test(`telemetry path: ${method} → 405 with Allow`, async () => {
    await withServer(async (base, { source }) => {
      const res = await request(base, '/metrics', { method });
      assert.equal(res.status, 405);
      assert.equal(res.headers['allow'], 'GET, HEAD');
      assert.equal(source.calls.length, 0);
    });
  });
}

test('custom telemetry path; the default path is then a 404', async () => {
  await withServer(
    async (base) => {
      assert.equal((await request(base, '/prom/x')).status, 200);
      assert.equal((await request(base, '/metrics')).status, 404);
      assert.equal((await request(base, '/prom/x/')).status, 404, 'exact match only');
    },
    { telemetryPath: '/prom/x' },
  );
});

test('unknown paths: 404 plain text', async () => {
  await withServer(async (base) => {
    for (const path of ['/nope', '/-/', '/metrics/extra', '/%zz']) {
      const res = await request(base, path);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.body.toString(), 'Not Found\n');
    }
  });
});

test('health and readiness', async () => {
  await withServer(async (base, { setReady }) => {
    const healthy = await request(base, '/-/healthy');
    assert.equal(healthy.status, 200);
    assert.equal(healthy.body.toString(), 'OK\n');
    const notReady = await request(base, '/-/ready');
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.toString(), `${NOT_READY_TEXT}\n`);
    setReady(true);
    const ready = await request(base, '/-/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.toString(), 'OK\n');
    assert.equal((await request(base, '/-/ready', { method: 'POST' })).status, 405);
  });
});

test('landing page: name, escaped version, links, CSP', async () => {
  await withServer(
    async (base) => {
      const res = await request(base, '/');
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      const html = res.body.toString();
      assert.match(html, /<title>linkstate-exporter<\/title>/);
      assert.ok(html.includes('9.8.7&#60;b&#62;'), 'version escaped');
      assert.ok(!html.includes('<b>'));
      for (const href of ['/custom', '/-/healthy', '/-/ready']) assert.ok(html.includes(`href="${href}"`), href);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
      assert.doesNotMatch(String(res.headers['content-security-policy']), /unsafe-inline/);
    },
    { telemetryPath: '/custom' },
  );
});

test('common headers: no x-powered-by, nosniff, frame denial', async () => {
  await withServer(async (base) => {
    for (const path of ['/', '/metrics', '/-/healthy', '/missing']) {
      const res = await request(base, path);
      assert.equal(res.headers['x-powered-by'], undefined, path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(res.headers['x-frame-options'], 'DENY', path);
    }
  });
});

test('a failing source is a 500 without internals; the error is logged', async () => {
  await withServer(async (base, { source, logs }) => {
    source.fail = true;
    const res = await request(base, '/metrics');
    assert.equal(res.status, 500);
    assert.equal(res.body.toString(), 'Internal Server Error\n');
    assert.ok(logs.some((l) => l.includes('secret internal detail')), 'logged for the operator');
  });
});

test('startServer reports the bound address; port in use is a one-line ConfigError', async () => {
  await withServer(async (_base, { running }) => {
    assert.match(running.address, /^127\.0\.0\.1:\d+$/);
    const port = Number(running.address.split(':')[1]);
    const app = createApp({ source: new FakeSource(), telemetryPath: '/metrics', isReady: () => true, version: '1', logger: silentLogger() });
    await assert.rejects(startServer(app, { host: '127.0.0.1', port }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)`);
      return true;
    });
  });
});

test('an address that is not on this host is a ConfigError', async () => {
  const app = createApp({ source: new FakeSource(), telemetryPath: '/metrics', isReady: () => true, version: '1', logger: silentLogger() });
  await assert.rejects(startServer(app, { host: '192.0.2.1', port: 0 }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^cannot listen on 192\.0\.2\.1:0: .*EADDRNOTAVAIL/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

/** Lets the event loop turn (I/O, no time passing) until `done()`, at most `turns` times; returns done(). */
async function turnsUntil(done: () => boolean, turns = 1000): Promise<boolean> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((r) => setImmediate(r));
  return done();
}

test('close() is prompt with a keep-alive client connected, and closes that connection', async (t) => {
  const app = createApp({ source: new FakeSource(), telemetryPath: '/metrics', isReady: () => true, version: '1', logger: silentLogger() });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const res = await request(`http://${running.address}`, '/metrics', { agent });
    assert.equal(res.status, 200);
    assert.equal(res.headers['connection'], 'keep-alive');
    const sockets = Object.values(agent.freeSockets).flat();
    assert.equal(sockets.length, 1, 'the client holds an idle keep-alive connection');
    const socket = sockets[0] as net.Socket;
    socket.ref(); // the agent unrefs idle sockets; keep the loop alive until the server closes it
    let closed = false;
    socket.once('close', () => (closed = true));
    t.mock.timers.enable({ apis: ['setTimeout'] }); // the grace period never passes: only a prompt close closes
    let stopped = false;
    void running.close().then(() => (stopped = true));
    assert.ok(await turnsUntil(() => closed && stopped), `closed with no time passing (connection closed: ${closed}, server: ${stopped})`);
  } finally {
    agent.destroy();
  }
});

test('close() cuts a connection whose request never completes within the grace period', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const app = createApp({ source: new FakeSource(), telemetryPath: '/metrics', isReady: () => true, version: '1', logger: silentLogger() });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 }, { closeGraceMs: 200 });
  const [host, port] = [running.address.split(':')[0] as string, Number(running.address.split(':')[1])];
  const socket = net.connect({ host, port });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  // A whole request, then one whose headers never finish, in one write: once the first is
  // answered, the server has read the start of the second.
  socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n');
  let received = '';
  socket.setEncoding('utf8').on('data', (c: string) => (received += c));
  assert.ok(await turnsUntil(() => received.endsWith('text_metric 1\n')), 'the first request is answered');
  let closed = false;
  socket.once('close', () => (closed = true));
  let stopped = false;
  void running.close().then(() => (stopped = true));
  assert.equal(await turnsUntil(() => closed, 100), false, 'not cut at once');
  t.mock.timers.tick(199);
  assert.equal(await turnsUntil(() => closed, 100), false, 'not before the grace period');
  t.mock.timers.tick(1);
  assert.ok(await turnsUntil(() => closed && stopped), 'cut when the grace period is over');
});
