// The telemetry path, /-/healthy and /-/ready are answered without express (web/app.ts); the
// express app is built on the first other request. node --test runs this file in its own
// process, so express's modules in require.cache come from this file's requests only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createApp, startServer, NOT_READY_TEXT, type Exposition, type MetricsSource } from '../../src/web/server.js';
import { createLogger } from '../../src/runtime/logger.js';
import { request, type TestResponse } from '../helpers/http-request.js';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';

class Source implements MetricsSource {
  fail = false;
  async expose(): Promise<Exposition> {
    if (this.fail) throw new Error('internal detail');
    return { contentType: TEXT, body: [Buffer.from('a 1\n'), Buffer.from('b 2\n')] };
  }
}

/** A request with its target sent as written ('#' included: new URL() would drop it). */
function raw(base: string, path: string, method = 'GET'): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/`, { method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function expressLoaded(): boolean {
  const cache = createRequire(import.meta.url).cache;
  return Object.keys(cache).some((path) => path.includes('/node_modules/express/'));
}

/** What a response is judged by: status, body and the headers the app sets (not Date, Connection, Keep-Alive). */
function shape(res: TestResponse): object {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...headers } = res.headers;
  return { status: res.status, body: res.body.toString(), headers };
}

test('scrapes and probes never load express; the first other request does, and both answer alike', async () => {
  const source = new Source();
  let ready = false;
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (l: string) => logs.push(l) } });
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => ready, version: 't', logger });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  const base = `http://${running.address}`;
  try {
    const plain = {
      metrics: await request(base, '/metrics?x=1'),
      head: await request(base, '/metrics', { method: 'HEAD' }),
      post: await request(base, '/metrics', { method: 'POST' }),
      notReady: await request(base, '/-/ready'),
      healthy: await request(base, '/-/healthy'),
      readyPost: await request(base, '/-/ready', { method: 'DELETE' }),
    };
    source.fail = true;
    const plainFailed = await request(base, '/metrics');
    source.fail = false;
    ready = true;
    const plainReady = await request(base, '/-/ready');
    assert.equal(expressLoaded(), false, 'express loaded by the telemetry path or the probes');

    assert.equal(plain.metrics.status, 200);
    assert.equal(plain.metrics.body.toString(), 'a 1\nb 2\n');
    assert.equal(plain.metrics.headers['content-length'], '8');
    assert.equal(plain.metrics.headers['vary'], 'Accept-Encoding, Accept');
    assert.equal(plain.head.status, 200);
    assert.equal(plain.head.body.length, 0);
    assert.equal(plain.post.status, 405);
    assert.equal(plain.post.headers['allow'], 'GET, HEAD');
    assert.equal(plain.notReady.status, 503);
    assert.equal(plain.notReady.body.toString(), `${NOT_READY_TEXT}\n`);
    assert.equal(plain.healthy.body.toString(), 'OK\n');
    assert.equal(plain.readyPost.status, 405);
    assert.equal(plainFailed.status, 500);
    assert.equal(plainFailed.body.toString(), 'Internal Server Error\n');
    assert.ok(logs.some((l) => l.includes('internal detail')), 'the failure is logged');
    assert.equal(plainReady.status, 200);

    // Spellings only express's router matches (trailing slash, case, '#') go to express.
    const notFound = await request(base, '/nowhere');
    assert.equal(notFound.status, 404);
    assert.equal(expressLoaded(), true, 'the express app is built for a route it alone serves');
    ready = false;
    const viaExpress = {
      metrics: await raw(base, '/metrics#?x=1'),
      head: await raw(base, '/metrics#', 'HEAD'),
      post: await raw(base, '/metrics#', 'POST'),
      notReady: await request(base, '/-/ready/'),
      healthy: await request(base, '/-/HEALTHY'),
      readyPost: await request(base, '/-/Ready', { method: 'DELETE' }),
    };
    for (const key of Object.keys(plain) as (keyof typeof plain)[]) {
      assert.deepEqual(shape(viaExpress[key]), shape(plain[key]), key);
    }
    source.fail = true;
    const expressFailed = await raw(base, '/metrics#');
    source.fail = false;
    assert.deepEqual(shape(expressFailed), shape(plainFailed), 'a failing scrape through express');
  } finally {
    await running.close();
  }
});
