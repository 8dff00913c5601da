// HTTP limits on 127.0.0.1: --web.max-requests, slow clients cut off by the header timeout,
// and responses that never carry internals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createApp, startServer, DEFAULT_TIMEOUTS, type Exposition, type MetricsSource } from '../../src/server.js';
import { createLogger } from '../../src/logger.js';
import { request } from '../helpers/http-request.js';

const logger = createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } });

/** A source whose scrapes wait until release() is called. */
class BlockingSource implements MetricsSource {
  started = 0;
  #waiters: Array<() => void> = [];
  expose(): Promise<Exposition> {
    this.started += 1;
    return new Promise((resolve) => {
      this.#waiters.push(() => resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: [Buffer.from('up 1\n')] }));
    });
  }
  release(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('--web.max-requests: scrapes beyond the limit get 503 until the running ones finish', async () => {
  const source = new BlockingSource();
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger, maxRequests: 2 });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  const base = `http://${running.address}`;
  try {
    const first = request(base, '/metrics');
    const second = request(base, '/metrics');
    await until('two scrapes in flight', () => source.started === 2);
    const third = await request(base, '/metrics');
    assert.equal(third.status, 503);
    assert.equal(third.body.toString(), 'Too many requests\n');
    assert.equal(source.started, 2, 'the refused scrape never reached the source');
    // Other paths are not limited.
    assert.equal((await request(base, '/-/healthy')).status, 200);
    source.release();
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
    const fourth = request(base, '/metrics');
    await until('the next scrape', () => source.started === 3);
    source.release();
    assert.equal((await fourth).status, 200, 'slots are given back');
  } finally {
    source.release();
    await running.close();
  }
});

test('--web.max-requests=0 means no limit', async () => {
  const source = new BlockingSource();
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger, maxRequests: 0 });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  try {
    const pending = Array.from({ length: 50 }, () => request(`http://${running.address}`, '/metrics'));
    await until('50 scrapes in flight', () => source.started === 50);
    source.release();
    const results = await Promise.all(pending);
    assert.ok(results.every((r) => r.status === 200));
  } finally {
    source.release();
    await running.close();
  }
});

test('a client sending its headers byte by byte is answered 408 and cut off by the header timeout', async () => {
  const app = createApp({ source: new BlockingSource(), telemetryPath: '/metrics', isReady: () => true, version: 't', logger });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 }, { timeouts: { headersTimeoutMs: 500 } });
  const [host, port] = [running.address.split(':')[0] as string, Number(running.address.split(':')[1])];
  const socket = net.connect({ host, port });
  const request = `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(200)}\r\n\r\n`;
  let sent = 0;
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  const started = Date.now();
  const timer = setInterval(() => {
    if (!socket.destroyed && sent < request.length) socket.write(request[sent++] as string);
  }, 20);
  try {
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const took = Date.now() - started;
    assert.ok(sent < request.length, `cut off before the headers were complete (${sent}/${request.length} bytes)`);
    assert.ok(took >= 400 && took < 2000, `cut off after ${took} ms`);
    assert.match(received, /^HTTP\/1\.1 408 /);
  } finally {
    clearInterval(timer);
    socket.destroy();
    await running.close();
  }
});

test('default timeouts are the documented ones', () => {
  assert.deepEqual(DEFAULT_TIMEOUTS, {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 90_000,
    handshakeTimeoutMs: 10_000,
    checkIntervalMs: 2 ** 31 - 1,
  });
});

test('the server applies the timeouts', async () => {
  const app = createApp({ source: new BlockingSource(), telemetryPath: '/metrics', isReady: () => true, version: 't', logger });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  try {
    assert.equal(running.server.headersTimeout, DEFAULT_TIMEOUTS.headersTimeoutMs);
    assert.equal(running.server.requestTimeout, DEFAULT_TIMEOUTS.requestTimeoutMs);
    assert.equal(running.server.keepAliveTimeout, DEFAULT_TIMEOUTS.keepAliveTimeoutMs);
  } finally {
    await running.close();
  }
});

test('malformed requests get a bare status, no internals', async () => {
  const app = createApp({ source: new BlockingSource(), telemetryPath: '/metrics', isReady: () => true, version: 't', logger });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 });
  const [host, port] = [running.address.split(':')[0] as string, Number(running.address.split(':')[1])];
  try {
    for (const raw of ['GARBAGE\r\n\r\n', 'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n']) {
      const socket = net.connect({ host, port });
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      socket.write(raw);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      assert.match(received, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.doesNotMatch(received, /at |node:|Error:|\/work\//);
    }
  } finally {
    await running.close();
  }
});
