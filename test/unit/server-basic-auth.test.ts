// Basic auth: the outcome cache (successes and failures, bounded, apart), the check queue
// (round-robin by client, a cached client never waits behind it), the unknown-user dummy at
// the configured cost, the cost ceiling, and the bcrypt worker thread.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import {
  AuthCache,
  BasicAuthenticator,
  CheckQueue,
  MAX_BCRYPT_COST,
  MAX_PENDING_CHECKS,
  bcryptCost,
  bcryptCostProblem,
} from '../../src/web/basic-auth.js';
import { BcryptWorker, type BcryptComparer } from '../../src/web/bcrypt-worker.js';
import { parseWebConfig } from '../../src/web/web-config.js';

const HASH = bcrypt.hashSync('secret', 4);
/** A well-formed hash of any cost: the fake comparer below never runs bcrypt. */
const ofCost = (cost: number, tail = 'a'): string => `$2y$${String(cost).padStart(2, '0')}$${tail.repeat(53).slice(0, 53)}`;

/** Compares by a table (hash → password); each comparison waits until released when `held`. */
class FakeComparer implements BcryptComparer {
  readonly calls: Array<{ password: string; hash: string }> = [];
  held = false;
  readonly #waiting: Array<() => void> = [];
  constructor(readonly passwords: Map<string, string>) {}
  compare(password: string, hash: string): Promise<boolean> {
    this.calls.push({ password, hash });
    const ok = this.passwords.get(hash) === password;
    if (!this.held) return Promise.resolve(ok);
    return new Promise((resolve) => this.#waiting.push(() => resolve(ok)));
  }
  /** Lets the running comparison finish; resolves once the queue has started the next one. */
  async releaseOne(): Promise<void> {
    this.#waiting.shift()?.();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

test('right, wrong and unknown credentials; every outcome is cached, a failure too', async () => {
  const comparer = new FakeComparer(new Map([[HASH, 'secret']]));
  const auth = new BasicAuthenticator(new Map([['alice', HASH]]), new CheckQueue(comparer));
  assert.equal(await auth.verify({ user: 'alice', password: 'secret' }), 'ok');
  assert.equal(await auth.verify({ user: 'alice', password: 'secret' }), 'ok');
  assert.equal(auth.bcryptRuns, 1, 'a success is served from the cache');
  assert.equal(await auth.verify({ user: 'alice', password: 'wrong' }), 'denied');
  assert.equal(await auth.verify({ user: 'alice', password: 'wrong' }), 'denied');
  assert.equal(auth.bcryptRuns, 2, 'a repeated wrong password is served from the cache');
  assert.equal(await auth.verify({ user: 'bob', password: 'secret' }), 'denied');
  assert.equal(await auth.verify({ user: 'bob', password: 'secret' }), 'denied');
  assert.equal(auth.bcryptRuns, 3, 'an unknown user pays one comparison, then the cache');
  assert.equal(await auth.verify(undefined), 'denied');
  assert.equal(comparer.calls.length, 3);
});

test('with real bcrypt: right, wrong, unknown (through the worker thread)', async () => {
  const worker = new BcryptWorker();
  try {
    const auth = new BasicAuthenticator(new Map([['alice', HASH]]), new CheckQueue(worker));
    assert.equal(await auth.verify({ user: 'alice', password: 'secret' }), 'ok');
    assert.equal(await auth.verify({ user: 'alice', password: 'wrong' }), 'denied');
    assert.equal(await auth.verify({ user: 'nobody', password: 'secret' }), 'denied');
    assert.equal(auth.bcryptRuns, 3);
  } finally {
    worker.close();
  }
});

test('a changed hash never matches an old cache entry, success or failure', async () => {
  const other = bcrypt.hashSync('other', 4);
  const comparer = new FakeComparer(new Map([[HASH, 'secret'], [other, 'other']]));
  const queue = new CheckQueue(comparer);
  const cache = new AuthCache();
  const before = new BasicAuthenticator(new Map([['alice', HASH]]), queue, cache);
  assert.equal(await before.verify({ user: 'alice', password: 'secret' }), 'ok');
  assert.equal(await before.verify({ user: 'alice', password: 'other' }), 'denied');
  const after = new BasicAuthenticator(new Map([['alice', other]]), queue, cache);
  assert.equal(await after.verify({ user: 'alice', password: 'secret' }), 'denied');
  assert.equal(await after.verify({ user: 'alice', password: 'other' }), 'ok');
});

test('a guesser fills only the bounded failure cache and never evicts a valid client', async () => {
  const comparer = new FakeComparer(new Map([[HASH, 'secret']]));
  const cache = new AuthCache(4, 8);
  const auth = new BasicAuthenticator(new Map([['alice', HASH]]), new CheckQueue(comparer), cache);
  assert.equal(await auth.verify({ user: 'alice', password: 'secret' }), 'ok');
  for (let i = 0; i < 1000; i++) assert.equal(await auth.verify({ user: i % 2 ? 'alice' : `u${i}`, password: `guess-${i}` }), 'denied');
  assert.deepEqual(cache.size, { ok: 1, failed: 8 }, 'bounded');
  const runs = auth.bcryptRuns;
  assert.equal(await auth.verify({ user: 'alice', password: 'secret' }), 'ok');
  assert.equal(auth.bcryptRuns, runs, 'the valid client is still cached');
});

test('AuthCache: each part is an LRU; a hit is refreshed; a key moves between parts', () => {
  const cache = new AuthCache(2, 2);
  cache.set('a', true);
  cache.set('b', true);
  assert.equal(cache.get('a'), true); // now the most recent
  cache.set('c', true);
  assert.equal(cache.get('b'), undefined, 'the least recently used goes');
  assert.equal(cache.get('a'), true);
  cache.set('a', false);
  assert.equal(cache.get('a'), false);
  assert.deepEqual(cache.size, { ok: 1, failed: 1 });
  assert.notEqual(AuthCache.key('a', 'b', 'c'), AuthCache.key('a', 'bc', ''));
});

test('an unknown user is checked against a dummy of the highest configured cost', async () => {
  for (const costs of [[4], [10], [4, 11, 8], [MAX_BCRYPT_COST]]) {
    const users = new Map(costs.map((c, i) => [`user${i}`, ofCost(c)]));
    const comparer = new FakeComparer(new Map());
    const auth = new BasicAuthenticator(users, new CheckQueue(comparer));
    assert.equal(await auth.verify({ user: 'nobody', password: 'x' }), 'denied');
    const ran = comparer.calls.at(-1)!.hash;
    assert.equal(bcryptCost(ran), Math.max(...costs), `costs ${costs.join(',')}: dummy ${ran}`);
    assert.ok(![...users.values()].includes(ran), 'the dummy is no configured hash');
  }
});

test('the dummy hash runs real bcrypt at its cost and matches nothing', () => {
  const auth = new BasicAuthenticator(new Map([['alice', HASH]]), new CheckQueue(new FakeComparer(new Map())));
  assert.equal(bcrypt.getRounds(auth.dummyHash), 4);
  assert.equal(bcrypt.compareSync('', auth.dummyHash), false);
  assert.equal(bcrypt.compareSync('secret', auth.dummyHash), false);
});

test('a cached client is answered at once while the queue is full; others are busy', async () => {
  const comparer = new FakeComparer(new Map([[HASH, 'secret']]));
  const queue = new CheckQueue(comparer);
  const auth = new BasicAuthenticator(new Map([['alice', HASH]]), queue);
  assert.equal(await auth.verify({ user: 'alice', password: 'secret' }, 'prometheus'), 'ok');
  comparer.held = true;
  const guesses = Array.from({ length: MAX_PENDING_CHECKS + 1 }, (_, i) => auth.verify({ user: 'alice', password: `g${i}` }, 'attacker'));
  assert.equal(queue.waiting, MAX_PENDING_CHECKS, 'one running, the rest waiting');
  assert.equal(await auth.verify({ user: 'alice', password: 'another' }, 'attacker'), 'busy');
  assert.equal(await auth.verify({ user: 'alice', password: 'secret' }, 'prometheus'), 'ok', 'no wait for the cached client');
  comparer.held = false;
  for (let i = 0; i <= MAX_PENDING_CHECKS; i++) await comparer.releaseOne();
  assert.deepEqual(new Set(await Promise.all(guesses)), new Set(['denied']));
});

test('round-robin by client: a newcomer runs right after the check running when it came', async () => {
  const comparer = new FakeComparer(new Map([[HASH, 'secret']]));
  comparer.held = true;
  const queue = new CheckQueue(comparer);
  const auth = new BasicAuthenticator(new Map([['alice', HASH]]), queue);
  for (let i = 0; i < 10; i++) void auth.verify({ user: 'alice', password: `g${i}` }, 'attacker');
  const valid = auth.verify({ user: 'alice', password: 'secret' }, 'prometheus');
  const other = auth.verify({ user: 'alice', password: 'secret' }, 'grafana');
  await comparer.releaseOne(); // the attacker's first check, running when the newcomers came
  assert.equal(comparer.calls.at(-1)!.password, 'secret', 'a newcomer is next');
  await comparer.releaseOne();
  assert.equal(comparer.calls.at(-1)!.password, 'g1', 'then the attacker (round-robin)');
  await comparer.releaseOne();
  assert.equal(comparer.calls.at(-1)!.password, 'secret', 'then the other newcomer');
  await comparer.releaseOne();
  assert.equal(await valid, 'ok');
  assert.equal(await other, 'ok');
  assert.equal(comparer.calls.at(-1)!.password, 'g2', 'the attacker alone: its checks in turn');
  comparer.held = false;
  for (let i = 0; i < 10; i++) await comparer.releaseOne();
});

test('full queue: the client holding most checks gives up its newest to a newcomer', async () => {
  const comparer = new FakeComparer(new Map([[HASH, 'secret']]));
  comparer.held = true;
  const queue = new CheckQueue(comparer, 4);
  const auth = new BasicAuthenticator(new Map([['alice', HASH]]), queue);
  const flood = Array.from({ length: 5 }, (_, i) => auth.verify({ user: 'alice', password: `g${i}` }, 'attacker'));
  assert.equal(queue.waiting, 4);
  const valid = auth.verify({ user: 'alice', password: 'secret' }, 'prometheus');
  assert.equal(await flood[4], 'busy', "the attacker's newest check made room");
  assert.equal(queue.waiting, 4);
  // Two clients with one check each and the queue full: neither has two more than a newcomer.
  const balanced = new CheckQueue(comparer, 2);
  void balanced.submit('running', 'x', HASH);
  void balanced.submit('a', 'x', HASH);
  void balanced.submit('b', 'x', HASH);
  assert.equal(await balanced.submit('c', 'x', HASH), 'busy');
  comparer.held = false;
  for (let i = 0; i < 10; i++) await comparer.releaseOne();
  assert.equal(await valid, 'ok');
});

test('bcryptCostProblem: the ceiling is accepted, one above refused in one line', () => {
  assert.equal(bcryptCostProblem(ofCost(MAX_BCRYPT_COST)), undefined);
  assert.equal(bcryptCostProblem(ofCost(4)), undefined);
  const problem = bcryptCostProblem(ofCost(MAX_BCRYPT_COST + 1)) ?? '';
  assert.match(problem, new RegExp(`^bcrypt cost ${MAX_BCRYPT_COST + 1} is above the maximum of ${MAX_BCRYPT_COST} `));
  assert.ok(!problem.includes('\n') && !problem.includes(ofCost(MAX_BCRYPT_COST + 1)));
  assert.equal(parseWebConfig(`basic_auth_users:\n  alice: ${ofCost(MAX_BCRYPT_COST)}\n`, '/d').basicAuthUsers.size, 1);
});

test('BcryptWorker: started by the first comparison, stopped when idle, started again', async (t) => {
  const worker = new BcryptWorker({ idleMs: 1000 });
  try {
    assert.equal(worker.running, false, 'nothing before the first comparison');
    assert.equal(worker.started, 0);
    t.mock.timers.enable({ apis: ['setTimeout'] });
    assert.equal(await worker.compare('secret', HASH), true);
    assert.equal(await worker.compare('wrong', HASH), false);
    assert.equal(await worker.compare('x', 'not a hash'), false);
    assert.equal(worker.running, true);
    t.mock.timers.tick(999);
    assert.equal(worker.running, true);
    t.mock.timers.tick(1);
    assert.equal(worker.running, false, 'stopped after idleMs without work');
    assert.equal(await worker.compare('secret', HASH), true);
    assert.equal(worker.started, 2);
  } finally {
    worker.close();
  }
  await assert.rejects(worker.compare('secret', HASH), /closed/);
});

test('BcryptWorker: close() rejects the comparisons still pending', async () => {
  const worker = new BcryptWorker();
  const slow = worker.compare('x', bcrypt.hashSync('y', 10));
  worker.close();
  await assert.rejects(slow, /closed/);
});
