// HTTP limits on 127.0.0.1: --web.max-requests (scrapes, and apart from them the status page
// and API), slow clients cut off by the header timeout, clients that never read cut off by the
// response timeout, and responses that never carry internals.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createApp, startServer, DEFAULT_TIMEOUTS, type Exposition, type MetricsSource, type ServerTimeouts } from '../../src/web/server.js';
import { LinkEventLog } from '../../src/links/event-log.js';
import { LinkTable } from '../../src/links/table.js';
import { createLogger } from '../../src/runtime/logger.js';
import { AF_UNSPEC, IFF_LOWER_UP, IFF_UP, IF_OPER_UP } from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import type { StatusSource } from '../../src/web/status-page.js';
import { request } from '../helpers/http-request.js';
import { connectSmallBuffer } from '../helpers/small-buffer-client.js';
import { openEvents } from '../helpers/sse-client.js';

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
    responseTimeoutMs: 60_000,
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

/**
 * 30,000 links: a page of ~9 MB and ~6 MB of JSON, more than the kernel takes for a client that
 * never reads (the server's send buffer grows up to tcp_wmem's 4 MiB).
 */
const LINKS = 30_000;
function manyLinks(n = LINKS): StatusSource {
  const table = new LinkTable();
  for (let i = 1; i <= n; i++) {
    const msg = {
      kind: 'new', family: AF_UNSPEC, ifindex: i, ifname: `veth${i}`, flags: IFF_UP | IFF_LOWER_UP, carrier: 1,
      operstate: IF_OPER_UP, carrierChanges: 2, carrierUpCount: 1, carrierDownCount: 1,
    } as unknown as LinkMessage;
    table.apply(msg, 1_000);
  }
  return table;
}

/** A GET whose client never reads the response: a 4 KiB receive buffer, paused; the server's buffers fill next. */
async function neverReads(address: string, path: string): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const socket = connectSmallBuffer(host, port, 4096);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  let bytes = 0;
  socket.on('data', (d: Buffer) => (bytes += d.length));
  socket.on('error', () => undefined); // a reset is what the server's cut looks like
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(bytes)));
  return { socket, closed };
}

async function serveLinks(maxRequests: number, timeouts: Partial<ServerTimeouts> = {}, body = Buffer.from('up 1\n')) {
  const source: MetricsSource = { expose: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: [body] }) };
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger, maxRequests, status: manyLinks(), events: new LinkEventLog(10), eventStreams: { keepAliveMs: 100 } });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 }, { timeouts });
  return { running, base: `http://${running.address}` };
}

const connections = (server: net.Server): Promise<number> =>
  new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

test('--web.max-requests limits the status page and /api/v1/links too, apart from scrapes', async () => {
  const { running, base } = await serveLinks(2);
  const stalled: net.Socket[] = [];
  try {
    for (const path of ['/', '/api/v1/links']) stalled.push((await neverReads(running.address, path)).socket);
    await new Promise((r) => setTimeout(r, 300)); // the kernel buffers fill; the responses wait for a drain
    for (const path of ['/', '/api/v1/links', '/static/status.js']) {
      const res = await request(base, path);
      assert.equal(res.status, 503, `${path} beyond the limit`);
      assert.equal(res.body.toString(), 'Too many requests\n');
      assert.equal(res.headers['retry-after'], '1');
    }
    assert.equal((await request(base, '/metrics')).status, 200, 'scrapes have their own slots');
    assert.equal((await request(base, '/-/healthy')).status, 200);
    stalled.pop()!.destroy();
    let page = await request(base, '/');
    for (let i = 0; i < 50 && page.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 20));
      page = await request(base, '/');
    }
    assert.equal(page.status, 200, 'a slot is given back when a client goes');
    assert.equal((page.body.toString().match(/<tr /g) ?? []).length, LINKS, 'the whole page');
  } finally {
    for (const s of stalled) s.destroy();
    await running.close();
  }
});

test('a client that never reads is cut off by the response timeout; its slot is given back', async () => {
  // Scrapes too: a telemetry body of 16 MB waits for the client as the page does.
  const { running, base } = await serveLinks(1, { responseTimeoutMs: 500 }, Buffer.alloc(16 << 20, 'a'));
  try {
    const once = { agent: new http.Agent({ keepAlive: false }) };
    for (const path of ['/', '/api/v1/links', '/metrics']) {
            for (let i = 0; i < 100 && (await connections(running.server)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      const { socket, closed } = await neverReads(running.address, path);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await connections(running.server), 1, `${path}: the stalled connection is open`);
      const deadline = Date.now() + 3000;
      while ((await connections(running.server)) > 0) {
        assert.ok(Date.now() < deadline, `${path}: still open after 3 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const took = Date.now() - t0;
      assert.ok(took >= 400 && took < 2000, `${path}: cut after ${took} ms`);
      socket.resume();
      const received = await closed;
      assert.ok(received < 5_000_000, `${path}: the client got ${received} bytes, not the whole body`);
      if (path !== '/metrics') assert.equal((await request(base, path, once)).status, 200, `${path}: the slot is back`);
    }
  } finally {
    await running.close();
  }
});

test('an event stream is not cut by the response timeout', async () => {
  const { running, base } = await serveLinks(1, { responseTimeoutMs: 300 });
  const stream = await openEvents(`${base}/api/v1/events`);
  try {
    assert.equal(stream.status, 200);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await connections(running.server), 1, 'still open after three times the response timeout');
    assert.equal(stream.closed, false);
  } finally {
    stream.close();
    await running.close();
  }
});
