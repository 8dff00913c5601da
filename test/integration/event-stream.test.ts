// GET /api/v1/events and /api/v1/links with real clients. Against the built exporter in a lab
// namespace (real kernel transitions): live events within a second, history replay, resume by
// Last-Event-ID without duplicates, the client limit, exact JSON for an untrusted alias.
// In-process on loopback: TLS and basic auth applied to streams, a slow reader dropped,
// keep-alive comments, the request timeout cutting a trickling client while an idle stream stays.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import bcrypt from 'bcryptjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LinkEventLog, type LinkEvent } from '../../src/links/event-log.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createApp, startServer, type App, type MetricsSource, type RunningServer, type StartOptions } from '../../src/web/server.js';
import { startExporter, type RunningExporter } from '../helpers/exporter.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { openEvents, type SseStream } from '../helpers/sse-client.js';
import { request } from '../helpers/http-request.js';
import { TestPki } from '../helpers/test-certs.js';

const ALIAS = '<img src=x onerror=alert(1)>';

describe('event stream of the built exporter in a lab namespace', { timeout: 120_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter;
  const open: SseStream[] = [];

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-sse');
    await ns.ipBatch(['link add lab0 type veth peer name peer0', 'link set lab0 up', 'link set peer0 up']);
    await ns.run('ip', ['link', 'set', 'lab0', 'alias', ALIAS]);
    leave = enterNetns(ns.name);
    exporter = await startExporter(ns, ['--web.events.max-clients=2']);
  });

  after(async () => {
    for (const s of open) s.close();
    if (exporter) await exporter.stop();
    leave?.();
    if (ns) await ns.destroy();
  });

  it('live events within a second, history replay, resume by Last-Event-ID, the client limit', async (t) => {
    if (!requireRoot(t)) return;
    const first = await openEvents(`${exporter.base}/api/v1/events`);
    open.push(first);
    assert.equal(first.status, 200);
    assert.match(String(first.headers['content-type']), /^text\/event-stream/);
    await first.until('the end of the (empty) replay', (s) => s.frames.some((f) => f.event === 'live'));
    assert.equal(first.links().length, 0, 'nothing happened yet: no history');

    await ns.ipBatch(['link set peer0 down']);
    const downAt = Date.now();
    await first.until('lab0 carrier down', (s) => s.links().some((e) => e['device'] === 'lab0' && e['type'] === 'carrier' && e['to'] === 'down'), 1000);
    const latency = Date.now() - downAt;
    assert.ok(latency < 1000, `within a second (${latency} ms)`);
    await ns.ipBatch(['link set peer0 up']);
    await first.until('lab0 carrier up', (s) => s.links().some((e) => e['device'] === 'lab0' && e['type'] === 'carrier' && e['to'] === 'up'), 1000);
    const down = first.links().find((e) => e['device'] === 'lab0' && e['to'] === 'down' && e['type'] === 'carrier')!;
    assert.match(String(down['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(down['from'], 'up');
    assert.equal(typeof down['carrier_changes'], 'number');
    assert.equal(typeof down['ifindex'], 'number');
    // peer0 was set admin down: its admin transition is an event too.
    assert.ok(first.links().some((e) => e['device'] === 'peer0' && e['type'] === 'admin' && e['to'] === 'down'));
    const seen = first.frames.filter((f) => f.event === 'link');

    // A new client is first given the history, in order, then live.
    const second = await openEvents(`${exporter.base}/api/v1/events`);
    open.push(second);
    await second.until('replay', (s) => s.frames.some((f) => f.event === 'live'));
    assert.deepEqual(second.frames.filter((f) => f.event === 'link').map((f) => f.id), seen.map((f) => f.id));
    assert.deepEqual(second.frames.filter((f) => f.event === 'link').map((f) => f.data), seen.map((f) => f.data));

    // A third stream is one more than --web.events.max-clients=2.
    const third = await openEvents(`${exporter.base}/api/v1/events`);
    assert.equal(third.status, 503);
    await third.until('the 503 body', (s) => s.closed);
    assert.match(third.text, /Too many event streams/);
    // Streams do not count against --web.max-requests nor block anything else.
    assert.equal((await exporter.get('/metrics')).status, 200);

    // Resume: the stream closed after the first event misses nothing and repeats nothing.
    second.close();
    await new Promise((r) => setTimeout(r, 100));
    const resumeFrom = seen[0]!.id!;
    await ns.ipBatch(['link set peer0 down', 'link set peer0 up']);
    // The kernel may announce a down and up this quick in one RTM_NEWLINK (its linkwatch work
    // reports the state when it runs): one event "up -> up" whose carrier_changes rose by 2.
    // The flap has arrived when lab0's counter is two past its value after the first flap.
    const afterFirstFlap = Number(down['carrier_changes']) + 1;
    await first.until(
      'the second flap',
      (s) => s.links().some((e) => e['device'] === 'lab0' && e['type'] === 'carrier' && Number(e['carrier_changes']) >= afterFirstFlap + 2),
      2000,
    );
    const resumed = await openEvents(`${exporter.base}/api/v1/events`, { headers: { 'last-event-id': resumeFrom } });
    open.push(resumed);
    await resumed.until('replay after resume', (s) => s.frames.some((f) => f.event === 'live'));
    const all = first.frames.filter((f) => f.event === 'link').map((f) => f.id);
    assert.deepEqual(resumed.frames.filter((f) => f.event === 'link').map((f) => f.id), all.slice(1));
  });

  it('/api/v1/links: the lab links with their state; an untrusted alias round-trips exactly', async (t) => {
    if (!requireRoot(t)) return;
    const res = await exporter.get('/api/v1/links');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = JSON.parse(res.text) as { links: Array<Record<string, unknown>> };
    const lab = body.links.find((l) => l['device'] === 'lab0')!;
    assert.ok(lab, 'lab0 listed');
    assert.equal(lab['alias'], ALIAS);
    assert.equal(lab['kind'], 'veth');
    assert.equal(lab['admin_up'], true);
    assert.equal(lab['carrier'], true);
    assert.equal(lab['oper_state'], 'up');
    const kernel = (await ns.kernelCounters()).get('lab0')!;
    assert.equal(lab['carrier_changes'], kernel.carrierChanges);
    assert.equal(lab['carrier_down_changes'], kernel.down);
    assert.match(String(lab['last_change']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof lab['down_seconds'], 'number');
    assert.ok(body.links.some((l) => l['device'] === 'peer0'));
  });
});

// ---- in-process ----

const source: MetricsSource = {
  async expose() {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: [Buffer.from('up 1\n')] };
  },
};

function sample(n: number, to = 'down'): LinkEvent {
  return { time: new Date().toISOString(), type: 'carrier', device: `eth${n % 100}`, ifindex: n, from: 'up', to, carrier_changes: n };
}

async function serve(
  events: LinkEventLog,
  streams: { maxClients?: number; keepAliveMs?: number; slowReaderBytes?: number },
  start: StartOptions = {},
): Promise<{ app: App; running: RunningServer; base: string }> {
  const logger = createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } });
  const app = createApp({ source, telemetryPath: '/metrics', isReady: () => true, version: 't', logger, events, eventStreams: streams });
  const running = await startServer(app, { host: '127.0.0.1', port: 0 }, { logger, ...start });
  return { app, running, base: `${running.tls ? 'https' : 'http'}://${running.address}` };
}

describe('event stream in-process', { timeout: 60_000 }, () => {
  it('TLS and basic auth apply to the stream as to everything', async () => {
    const pki = new TestPki();
    try {
      const ca = pki.makeCa('ca');
      const cert = pki.makeCert('server', ca, { kind: 'server' });
      const file = join(pki.dir, 'web.yml');
      writeFileSync(file, `tls_server_config:\n  cert_file: ${cert.certFile}\n  key_file: ${cert.keyFile}\nbasic_auth_users:\n  alice: ${bcrypt.hashSync('pw', 4)}\n`);
      const events = new LinkEventLog(10);
      events.publish(sample(1));
      const { running, base } = await serve(events, {}, { webConfigFile: file, reload: { pollMs: 0 } });
      try {
        assert.ok(base.startsWith('https://'));
        const tls = { ca: ca.cert };
        const anonymous = await openEvents(`${base}/api/v1/events`, { tls });
        assert.equal(anonymous.status, 401);
        anonymous.close();
        const wrong = await openEvents(`${base}/api/v1/events`, { tls, headers: { authorization: `Basic ${Buffer.from('alice:nope').toString('base64')}` } });
        assert.equal(wrong.status, 401);
        wrong.close();
        await assert.rejects(openEvents(`${base}/api/v1/events`, { tls: { ca: pki.makeCa('other').cert } }), /certificate/);
        const ok = await openEvents(`${base}/api/v1/events`, { tls, headers: { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` } });
        try {
          assert.equal(ok.status, 200);
          await ok.until('replay', (s) => s.frames.some((f) => f.event === 'live'));
          assert.equal(ok.links().length, 1);
          events.publish(sample(2));
          await ok.until('a live event over TLS', (s) => s.links().length === 2);
        } finally {
          ok.close();
        }
        const links = await request(base, '/api/v1/links', { tls: { ca: ca.cert, agent: false } });
        assert.equal(links.status, 401, '/api/v1/links is behind basic auth too');
      } finally {
        await running.close();
      }
    } finally {
      pki.cleanup();
    }
  });

  it('a reader that stops reading is dropped; the others keep streaming; memory stays bounded', async () => {
    const events = new LinkEventLog(10);
    const { app, running, base } = await serve(events, { slowReaderBytes: 64 * 1024 });
    try {
      const reader = await openEvents(`${base}/api/v1/events`);
      await reader.until('live', (s) => s.frames.some((f) => f.event === 'live'));
      const { port } = new URL(base);
      const stalled = net.connect({ host: '127.0.0.1', port: Number(port) });
      await new Promise<void>((r) => stalled.once('connect', () => r()));
      stalled.write('GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n');
      stalled.pause(); // never reads: the kernel buffers fill, then the server's
      let closed = false;
      stalled.once('close', () => (closed = true));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(app.eventStreams!.clients, 2);
      let published = 0;
      while (app.eventStreams!.dropped === 0 && published < 200_000) {
        for (let i = 0; i < 200; i++) events.publish(sample(++published));
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(app.eventStreams!.dropped, 1, `dropped after ${published} events`);
      assert.equal(app.eventStreams!.clients, 1, 'the fast reader stays');
      events.publish(sample(++published, 'up'));
      await reader.until('the fast reader gets everything', (s) => s.links().length === published, 10_000);
      stalled.resume();
      await new Promise<void>((r) => (closed ? r() : stalled.once('close', () => r())));
      reader.close();
    } finally {
      await running.close();
    }
  });

  it('the request timeout cuts a client that trickles its request; an idle event stream stays', { timeout: 20_000 }, async () => {
    const events = new LinkEventLog(10);
    const { running, base } = await serve(events, { keepAliveMs: 200 }, { timeouts: { headersTimeoutMs: 400, requestTimeoutMs: 800 } });
    const port = Number(new URL(base).port);
    /** Writes `head`, then `trickle` one byte every 100 ms; resolves with what came back and when. */
    const trickle = (head: string, drip: string): Promise<{ reply: string; ms: number }> =>
      new Promise((resolve) => {
        const t0 = Date.now();
        const socket = net.connect({ host: '127.0.0.1', port });
        let reply = '';
        let i = 0;
        const timer = setInterval(() => {
          if (i < drip.length && !socket.destroyed) socket.write(drip[i++]!);
        }, 100);
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => (reply += c));
        socket.on('error', () => undefined);
        socket.once('close', () => {
          clearInterval(timer);
          resolve({ reply, ms: Date.now() - t0 });
        });
        socket.write(head);
      });
    try {
      const stream = await openEvents(`${base}/api/v1/events`);
      // Headers trickled: cut at the headers timeout with a 408.
      const headers = await trickle('GET /metrics HTTP/1.1\r\n', 'X-Slow: ' + 'a'.repeat(60) + '\r\n\r\n');
      assert.match(headers.reply, /^HTTP\/1\.1 408/);
      assert.ok(headers.ms >= 350 && headers.ms < 2000, `cut after ${headers.ms} ms`);
      // Headers whole, body trickled: the request is not received whole; cut at the request timeout.
      const body = await trickle('GET /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'b'.repeat(100));
      assert.ok(body.ms >= 700 && body.ms < 3000, `cut after ${body.ms} ms`);
      // Meanwhile the idle stream (its request was complete) outlived both timeouts, kept alive by comments.
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(stream.closed, false, 'the idle event stream stays');
      assert.ok(stream.comments.filter((c) => c === ': keep-alive').length >= 4, `keep-alive comments: ${stream.comments.length}`);
      events.publish(sample(1));
      await stream.until('an event after the idle time', (s) => s.links().length === 1);
      stream.close();
    } finally {
      await running.close();
    }
  });

  it('the keep-alive timer exists only while a stream is open', async () => {
    const events = new LinkEventLog(10);
    const { running, base } = await serve(events, { keepAliveMs: 60_000 });
    // Counts the intervals created and not yet cleared while the stream opens and closes.
    const live = new Set<unknown>();
    const realSet = globalThis.setInterval;
    const realClear = globalThis.clearInterval;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      const handle = realSet(...args);
      live.add(handle);
      return handle;
    }) as typeof setInterval;
    globalThis.clearInterval = ((handle?: Parameters<typeof clearInterval>[0]) => {
      live.delete(handle);
      realClear(handle);
    }) as typeof clearInterval;
    const timers = (): number => live.size;
    try {
      await new Promise((r) => setTimeout(r, 50));
      const idle = timers();
      assert.equal(idle, 0);
      const stream = await openEvents(`${base}/api/v1/events`);
      await stream.until('live', (s) => s.frames.some((f) => f.event === 'live'));
      assert.ok(timers() > idle, 'a timer while the stream is open');
      stream.close();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(timers(), idle, 'none left once it closed');
    } finally {
      globalThis.setInterval = realSet;
      globalThis.clearInterval = realClear;
      await running.close();
    }
  });

  it('a reload closes the streams whose credentials it makes invalid, and only those', async () => {
    const pki = new TestPki();
    try {
      const file = join(pki.dir, 'web.yml');
      const alicePw = bcrypt.hashSync('pw', 4);
      const bobPw = bcrypt.hashSync('bob', 4);
      const carolPw = bcrypt.hashSync('carol', 4);
      writeFileSync(file, `basic_auth_users:\n  alice: ${alicePw}\n  bob: ${bobPw}\n  carol: ${carolPw}\n`);
      const events = new LinkEventLog(10);
      const { running, base } = await serve(events, {}, { webConfigFile: file, reload: { pollMs: 0, debounceMs: 3_600_000 } }); // reloaded by hand only
      const auth = (user: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });
      const streams: SseStream[] = [];
      const open = async (user: string, pw: string): Promise<SseStream> => {
        const s = await openEvents(`${base}/api/v1/events`, { headers: auth(user, pw) });
        streams.push(s);
        assert.equal(s.status, 200, user);
        await s.until(`${user}: live`, (x) => x.frames.some((f) => f.event === 'live'));
        return s;
      };
      try {
        const alice = await open('alice', 'pw');
        const bob = await open('bob', 'bob');
        const carol = await open('carol', 'carol');
        // alice removed; bob's hash replaced by another hash of the same password; carol's password changed.
        writeFileSync(file, `basic_auth_users:\n  bob: ${bcrypt.hashSync('bob', 4)}\n  carol: ${bcrypt.hashSync('new', 4)}\n`);
        assert.equal(await running.reloadWebConfig(), 'applied');
        await alice.until('alice: closed after her removal', (x) => x.closed, 2000);
        await carol.until('carol: closed after her password changed', (x) => x.closed, 2000);
        events.publish(sample(1));
        await bob.until('bob: still streaming (his password still matches)', (x) => x.links().length === 1, 2000);
        assert.equal(bob.closed, false);
        // A reload that changes nothing for bob keeps his stream.
        writeFileSync(file, `basic_auth_users:\n  bob: ${bcrypt.hashSync('bob', 4)}\n  dave: ${bcrypt.hashSync('d', 4)}\n`);
        assert.equal(await running.reloadWebConfig(), 'applied');
        events.publish(sample(2));
        await bob.until('bob: still streaming', (x) => x.links().length === 2, 2000);
        assert.equal(bob.closed, false);
      } finally {
        for (const s of streams) s.close();
        await running.close();
      }
    } finally {
      pki.cleanup();
    }
  });

  it('a stream opened without credentials is closed when basic auth is turned on', async () => {
    const pki = new TestPki();
    try {
      const file = join(pki.dir, 'web.yml');
      writeFileSync(file, '');
      const events = new LinkEventLog(10);
      const { running, base } = await serve(events, {}, { webConfigFile: file, reload: { pollMs: 0, debounceMs: 3_600_000 } }); // reloaded by hand only
      const s = await openEvents(`${base}/api/v1/events`);
      try {
        await s.until('live', (x) => x.frames.some((f) => f.event === 'live'));
        writeFileSync(file, `basic_auth_users:\n  alice: ${bcrypt.hashSync('pw', 4)}\n`);
        assert.equal(await running.reloadWebConfig(), 'applied');
        await s.until('closed once credentials are needed', (x) => x.closed, 2000);
      } finally {
        s.close();
        await running.close();
      }
    } finally {
      pki.cleanup();
    }
  });

  it('a stream whose client certificate the reloaded TLS policy no longer accepts is closed', async () => {
    const pki = new TestPki();
    try {
      const ca = pki.makeCa('ca');
      const server = pki.makeCert('server', ca, { kind: 'server' });
      const one = pki.makeCert('one', ca, { kind: 'client' });
      const two = pki.makeCert('two', ca, { kind: 'client' });
      const file = join(pki.dir, 'web.yml');
      const config = (sans: string): string =>
        `tls_server_config:\n  cert_file: ${server.certFile}\n  key_file: ${server.keyFile}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${ca.certFile}\n  client_allowed_sans: [${sans}]\n`;
      writeFileSync(file, config('one.example, two.example'));
      const events = new LinkEventLog(10);
      const { running, base } = await serve(events, {}, { webConfigFile: file, reload: { pollMs: 0, debounceMs: 3_600_000 } }); // reloaded by hand only
      const streams: SseStream[] = [];
      try {
        for (const c of [one, two]) {
          const s = await openEvents(`${base}/api/v1/events`, { tls: { ca: ca.cert, cert: c.cert, key: c.key } });
          streams.push(s);
          assert.equal(s.status, 200);
          await s.until('live', (x) => x.frames.some((f) => f.event === 'live'));
        }
        const [first, second] = streams as [SseStream, SseStream];
        writeFileSync(file, config('two.example'));
        assert.equal(await running.reloadWebConfig(), 'applied');
        await first.until('one.example: closed', (x) => x.closed, 2000);
        events.publish(sample(1));
        await second.until('two.example: still streaming', (x) => x.links().length === 1, 2000);
        assert.equal(second.closed, false);
      } finally {
        for (const s of streams) s.close();
        await running.close();
      }
    } finally {
      pki.cleanup();
    }
  });
});
