import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NeighborStore, PER_PORT_NEIGHBORS } from '../../src/lldp/neighbors.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { neighborAnnouncement } from '../helpers/lldp-bytes.js';

const HOLD_MS = 3600_000;

const announce = neighborAnnouncement;

function store(clock = new ManualClock(), holdTimeMs = HOLD_MS): { clock: ManualClock; s: NeighborStore } {
  return { clock, s: new NeighborStore({ clock, holdTimeMs }) };
}

test('a neighbour is held from its first frame, refreshed by the next, and its TTL expires it while the link is up', () => {
  const { clock, s } = store();
  assert.equal(s.receive(3, announce()), 'added');
  const [n] = s.neighbors(3);
  assert.equal(n?.systemName, 'leaf-07');
  assert.equal(n?.stale, false);
  assert.equal(n?.lastSeenMs, clock.now());
  clock.advance(60_000);
  const version = s.version;
  assert.equal(s.receive(3, announce()), 'refreshed');
  assert.equal(s.neighbors(3)[0]?.lastSeenMs, clock.now());
  assert.ok(s.version > version, 'last seen moved: the rendered state changed');
  clock.advance(119_999);
  assert.equal(s.size, 1, 'the TTL runs from the latest frame');
  clock.advance(1);
  assert.equal(s.size, 0, 'expired 120 s after the latest frame');
  assert.deepEqual(s.neighbors(3), []);
  assert.equal(clock.pending, 0, 'no timer once no neighbour is held');
});

test('a changed system name or description updates the neighbour in place (same chassis and port)', () => {
  const { s } = store();
  s.receive(3, announce());
  assert.equal(s.receive(3, announce({ systemName: 'leaf-08', portDescription: 'moved' })), 'changed');
  assert.equal(s.size, 1);
  assert.equal(s.neighbors(3)[0]?.systemName, 'leaf-08');
  assert.equal(s.neighbors(3)[0]?.portDescription, 'moved');
});

test('carrier loss keeps the neighbour, stale, past its TTL until the hold time passes', () => {
  const { clock, s } = store();
  s.receive(3, announce());
  clock.advance(10_000);
  s.carrierLost(3);
  assert.equal(s.neighbors(3)[0]?.stale, true);
  clock.advance(10 * 60_000);
  assert.equal(s.size, 1, 'kept past the 120 s TTL');
  assert.equal(s.neighbors(3)[0]?.stale, true);
  clock.advance(HOLD_MS - 10 * 60_000 - 1);
  assert.equal(s.size, 1);
  clock.advance(1);
  assert.equal(s.size, 0, 'gone when the hold time has passed since the carrier loss');
  assert.equal(clock.pending, 0);
});

test('a stale neighbour stays when carrier returns, until the port hears a neighbour again', () => {
  const { clock, s } = store();
  s.receive(3, announce());
  s.carrierLost(3);
  clock.advance(5 * 60_000);
  s.carrierRestored(3);
  assert.equal(s.neighbors(3)[0]?.stale, true, 'carrier alone does not say who is at the other end');
  // The cable was moved: another switch port answers.
  assert.equal(s.receive(3, announce({ chassisId: '52:54:00:dd:ee:ff', portId: 'Ethernet2/1', systemName: 'leaf-09' })), 'added');
  assert.deepEqual(
    s.neighbors(3).map((n) => [n.systemName, n.stale]),
    [['leaf-09', false]],
    'the stale neighbour gave way to the one that answered',
  );
});

test('the same neighbour answering again after an outage is fresh again with its own TTL', () => {
  const { clock, s } = store();
  s.receive(3, announce());
  s.carrierLost(3);
  clock.advance(HOLD_MS / 2);
  s.carrierRestored(3);
  assert.equal(s.receive(3, announce()), 'refreshed');
  assert.equal(s.neighbors(3)[0]?.stale, false);
  clock.advance(120_000);
  assert.equal(s.size, 0, 'its TTL, not the hold time, expires it now');
});

test('deleting the link drops its neighbours at once, stale or not; other ports keep theirs', () => {
  const { clock, s } = store();
  s.receive(3, announce());
  s.receive(4, announce({ portId: 'Ethernet1/13' }));
  s.carrierLost(3);
  s.linkRemoved(3);
  assert.deepEqual(s.neighbors(3), []);
  assert.equal(s.size, 1);
  s.linkRemoved(4);
  assert.equal(s.size, 0);
  assert.equal(clock.pending, 0, 'no timer once no neighbour is held');
});

test('a shutdown LLDPDU marks the neighbour stale (kept for the hold time) instead of dropping it', () => {
  const { clock, s } = store();
  s.receive(3, announce());
  assert.equal(s.shutdown(3, '52:54:00:aa:bb:cc', 'Ethernet1/12'), true);
  assert.equal(s.neighbors(3)[0]?.stale, true);
  assert.equal(s.shutdown(3, 'unknown', 'Ethernet1/12'), false, 'a shutdown of a neighbour not held changes nothing');
  clock.advance(HOLD_MS);
  assert.equal(s.size, 0);
});

test('a hold time of 0 drops a neighbour at carrier loss', () => {
  const { clock, s } = store(new ManualClock(), 0);
  s.receive(3, announce());
  s.carrierLost(3);
  assert.equal(s.size, 0);
  assert.equal(clock.pending, 0);
});

test('at most one timer runs, for the earliest expiry, and none while nothing is held', () => {
  const { clock, s } = store();
  assert.equal(clock.pending, 0, 'none before the first neighbour');
  for (let port = 1; port <= 50; port++) s.receive(port, announce({ ttlSeconds: 60 + port }));
  assert.equal(clock.pending, 1);
  // Refreshes move expiries later: they need no new timer.
  for (let i = 0; i < 1000; i++) s.receive(1 + (i % 50), announce({ ttlSeconds: 60 + 1 + (i % 50) }));
  assert.equal(clock.pending, 1);
  s.receive(99, announce({ ttlSeconds: 1 }));
  assert.equal(clock.pending, 1, 'an earlier expiry replaces the timer');
  clock.advance(1000);
  assert.deepEqual(s.neighbors(99), []);
  assert.equal(clock.pending, 1);
  clock.advance(200_000);
  assert.equal(s.size, 0);
  assert.equal(clock.pending, 0);
});

test('the timer is unref\'d: it never holds the process', () => {
  let unrefs = 0;
  const clock = new ManualClock();
  const base = clock.setTimeout.bind(clock);
  clock.setTimeout = (cb, ms) => {
    const t = base(cb, ms);
    return { unref: () => (unrefs++, t.unref()) } as typeof t;
  };
  const s = new NeighborStore({ clock, holdTimeMs: HOLD_MS });
  s.receive(1, announce());
  assert.equal(unrefs, 1);
  s.close();
});

test('a flood of random chassis ids on one port keeps the per-port cap, the first neighbours, and memory flat', () => {
  const { clock, s } = store();
  s.receive(3, announce());
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heap = (): number => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  let refused = 0;
  const flood = (frames: number): void => {
    for (let i = 0; i < frames; i++) {
      const id = Math.random().toString(16).slice(2, 14);
      if (s.receive(3, announce({ chassisId: id, systemName: `evil-${id}`, ttlSeconds: 65535 })) === 'limit') refused++;
      // the real neighbour keeps talking through the flood
      if (i % 1000 === 0) s.receive(3, announce());
      clock.advance(0);
    }
  };
  flood(20_000);
  const before = heap();
  flood(200_000);
  const after = heap();
  assert.equal(s.neighbors(3).length, PER_PORT_NEIGHBORS);
  assert.equal(s.size, PER_PORT_NEIGHBORS);
  assert.ok(s.neighbors(3).some((n) => n.systemName === 'leaf-07'), 'the real neighbour is still held');
  assert.equal(refused, 220_000 - (PER_PORT_NEIGHBORS - 1));
  assert.ok(after - before < 1024 * 1024, `heap grew by ${after - before} bytes over 200,000 flood frames`);
  assert.equal(clock.pending, 1);
  s.close();
  assert.equal(clock.pending, 0);
});
