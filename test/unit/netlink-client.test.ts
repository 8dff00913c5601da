import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, NetlinkClient, Sequence } from '../../src/netlink/client.js';
import { NetlinkSocketError } from '../../src/netlink/errors.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { ClockTimer } from '../../src/runtime/clock.js';
import { ManualClock } from '../helpers/manual-clock.js';

class Closable {
  closed = 0;
  constructor(readonly id: number) {}
  close(): void {
    this.closed++;
  }
}

function harness(opts: { failOpen?: number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  const clock = new ManualClock();
  const unrefd = new Set<ClockTimer>();
  const setTimeout = clock.setTimeout.bind(clock);
  clock.setTimeout = (callback, ms) => {
    const timer = setTimeout(callback, ms);
    (timer as { unref: () => unknown }).unref = () => unrefd.add(timer);
    return timer;
  };
  const sockets: Closable[] = [];
  let failures = opts.failOpen ?? 0;
  const client = new NetlinkClient<Closable>({
    open: () => {
      if (failures-- > 0) throw new NetlinkSocketError('socket', 97);
      const s = new Closable(sockets.length);
      sockets.push(s);
      return s;
    },
    logger,
    clock,
    backoff: { initial: 10, max: 40 },
    logIntervalMs: 1000,
    name: 'test socket',
  });
  return { client, clock, sockets, lines, unrefd };
}

describe('Sequence', () => {
  it('counts from 1 and wraps past 2^32 - 1 to 1, never 0', () => {
    const seq = new Sequence();
    assert.deepEqual([seq.next(), seq.next()], [1, 2]);
    const high = new Sequence(0xfffffffe);
    assert.deepEqual([high.next(), high.next(), high.next()], [0xffffffff, 1, 2]);
  });
});

describe('Backoff', () => {
  it('doubles up to its largest delay, and reset() starts over', () => {
    const b = new Backoff(10, 40);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [10, 20, 40, 40]);
    b.reset();
    assert.equal(b.next(), 10);
  });
});

describe('NetlinkClient', () => {
  it('opens a socket and holds it; close() closes it', async () => {
    const h = harness();
    const s = h.client.open();
    assert.equal(h.client.socket, s);
    await h.client.close();
    assert.equal(s.closed, 1);
    assert.equal(h.client.socket, undefined);
    assert.equal(h.client.closed, true);
  });

  it('a failed socket is closed and reopened after the backoff, on an unref\'d timer of the injected clock', () => {
    const h = harness();
    const first = h.client.open();
    const reopened: number[] = [];
    const delay = h.client.failed(new NetlinkSocketError('recvmsg', 9), () => reopened.push(h.client.open().id));
    assert.equal(delay, 10);
    assert.equal(first.closed, 1);
    assert.equal(h.client.socket, undefined);
    assert.equal(h.unrefd.size, 1, 'the reopen timer is unref\'d');
    h.clock.advance(9);
    assert.deepEqual(reopened, []);
    h.clock.advance(1);
    assert.deepEqual(reopened, [1]);
    assert.ok(h.lines.some((l) => l['msg'] === 'test socket failed, reopening' && l['retry_in_ms'] === 10));
  });

  it('the delay doubles with each failure until recovered() resets it', () => {
    const h = harness();
    h.client.open();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) delays.push(h.client.failed(new NetlinkSocketError('recvmsg', 9), () => undefined));
    assert.deepEqual(delays, [10, 20, 40, 40]);
    h.client.recovered();
    assert.equal(h.client.failed(new NetlinkSocketError('recvmsg', 9), () => undefined), 10);
    assert.equal(h.clock.pending, 1, 'one reopen timer at a time');
  });

  it('close() during the backoff: the reopen never runs', async () => {
    const h = harness();
    h.client.open();
    let reopened = false;
    h.client.failed(new NetlinkSocketError('recvmsg', 9), () => (reopened = true));
    await h.client.close();
    h.clock.advance(1000);
    assert.equal(reopened, false);
    assert.equal(h.clock.pending, 0);
  });

  it('discard() closes the socket without a reopen', () => {
    const h = harness();
    const s = h.client.open();
    h.client.discard();
    assert.equal(s.closed, 1);
    assert.equal(h.client.socket, undefined);
    assert.equal(h.clock.pending, 0);
  });

  it('open() throws what the opener throws, and holds nothing', () => {
    const h = harness({ failOpen: 1 });
    assert.throws(() => h.client.open(), NetlinkSocketError);
    assert.equal(h.client.socket, undefined);
  });
});
