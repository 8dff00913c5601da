// HTTP basic authentication against bcrypt hashes (exporter-toolkit's basic_auth_users).
// bcrypt is slow on purpose, so each check's outcome is cached under a sha256 of (user, stored
// hash, password), as exporter-toolkit does: a scraper sending the same credentials every 15 s
// pays the cost once, a client repeating a wrong password too, and a changed hash in the file
// never matches an old entry. Successes and failures are kept apart, both bounded: a guesser
// fills only the failures and can never evict a valid client. Checks not in the cache run one
// at a time on a worker thread (bcrypt-worker.ts), taken round-robin by client address, so that
// one address sending many guesses delays another's first login by one check, not by a queue.
// Unknown users are checked against a dummy hash of the highest configured cost, so that
// timing does not tell which user names exist.

import { createHash } from 'node:crypto';
import type { BcryptComparer } from './bcrypt-worker.js';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The user and password of an "Authorization: Basic …" header, or undefined. */
export function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(header);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The highest bcrypt cost accepted in basic_auth_users. Each step doubles a check's time;
 * docs/web-configuration.md gives the time per check at this cost and why it is the ceiling.
 */
export const MAX_BCRYPT_COST = 12;

/** The cost field of a bcrypt hash ("$2y$10$…" → 10), or NaN. */
export function bcryptCost(hash: string): number {
  const m = /^\$2[aby]?\$(\d\d)\$/.exec(hash);
  return m === null ? Number.NaN : Number(m[1]);
}

/** Why a (well-formed) bcrypt hash is refused, or undefined. One line, never the hash itself. */
export function bcryptCostProblem(hash: string): string | undefined {
  const cost = bcryptCost(hash);
  if (!(cost > MAX_BCRYPT_COST)) return undefined;
  return `bcrypt cost ${cost} is above the maximum of ${MAX_BCRYPT_COST} (a check would take ${2 ** (cost - MAX_BCRYPT_COST)} times as long as at ${MAX_BCRYPT_COST}); make a new hash, e.g. with htpasswd -nBC ${MAX_BCRYPT_COST}`;
}

/** A syntactically valid hash of the given cost that no password matches in practice. */
export function dummyHash(cost: number): string {
  return `$2b$${String(cost).padStart(2, '0')}$LinkstateExporterDummy${'.'.repeat(31)}`;
}

/** The outcome of each (user, hash, password) checked: two bounded LRU sets. Shared across reloads. */
export class AuthCache {
  readonly #ok = new Set<string>();
  readonly #failed = new Set<string>();
  constructor(
    readonly maxOk = 256,
    readonly maxFailed = 1024,
  ) {}

  static key(user: string, hash: string, password: string): string {
    const h = createHash('sha256');
    for (const part of [user, hash, password]) h.update(String(Buffer.byteLength(part))).update(':').update(part);
    return h.digest('hex');
  }

  /** The cached outcome, or undefined; a hit becomes the most recent entry. */
  get(key: string): boolean | undefined {
    for (const [set, outcome] of [[this.#ok, true], [this.#failed, false]] as const) {
      if (set.delete(key)) {
        set.add(key);
        return outcome;
      }
    }
    return undefined;
  }

  set(key: string, ok: boolean): void {
    const set = ok ? this.#ok : this.#failed;
    (ok ? this.#failed : this.#ok).delete(key);
    set.delete(key);
    set.add(key);
    const max = ok ? this.maxOk : this.maxFailed;
    while (set.size > max) set.delete(set.values().next().value as string);
  }

  get size(): { ok: number; failed: number } {
    return { ok: this.#ok.size, failed: this.#failed.size };
  }
}

/** bcrypt checks allowed to wait; beyond that a request is answered "busy" (503). */
export const MAX_PENDING_CHECKS = 16;

interface Check {
  readonly password: string;
  readonly hash: string;
  resolve(result: boolean | 'busy'): void;
  reject(err: unknown): void;
}

/**
 * The checks waiting for the bcrypt thread, one running at a time, taken round-robin by client
 * (remote address). When full, the client with the most waiting checks gives up its newest one
 * (answered busy) to a client with at least two fewer; otherwise the newcomer is busy.
 */
export class CheckQueue {
  readonly #comparer: BcryptComparer;
  readonly #byClient = new Map<string, Check[]>();
  #waiting = 0;
  #running = false;
  #lastClient: string | undefined;

  constructor(
    comparer: BcryptComparer,
    readonly maxWaiting = MAX_PENDING_CHECKS,
  ) {
    this.#comparer = comparer;
  }

  get waiting(): number {
    return this.#waiting;
  }

  submit(client: string, password: string, hash: string): Promise<boolean | 'busy'> {
    let own = this.#byClient.get(client);
    if (this.#waiting >= this.maxWaiting) {
      let longest: Check[] | undefined;
      for (const checks of this.#byClient.values()) if (longest === undefined || checks.length > longest.length) longest = checks;
      if (longest === undefined || longest.length <= (own?.length ?? 0) + 1) return Promise.resolve('busy');
      longest.pop()!.resolve('busy');
      this.#waiting -= 1;
    }
    return new Promise((resolve, reject) => {
      if (own === undefined) this.#byClient.set(client, (own = []));
      own.push({ password, hash, resolve, reject });
      this.#waiting += 1;
      this.#next();
    });
  }

  #next(): void {
    if (this.#running) return;
    // The client served last waits while anyone else waits: a newcomer behind a flooding
    // client waits for the check running when it came, not for one more of the flood's.
    let pick: [string, Check[]] | undefined;
    for (const entry of this.#byClient) {
      pick ??= entry;
      if (entry[0] !== this.#lastClient) {
        pick = entry;
        break;
      }
    }
    if (pick === undefined) return;
    const [client, checks] = pick;
    const check = checks.shift()!;
    this.#byClient.delete(client);
    if (checks.length > 0) this.#byClient.set(client, checks); // to the back of the round
    this.#lastClient = client;
    this.#waiting -= 1;
    this.#running = true;
    this.#comparer
      .compare(check.password, check.hash)
      .then(
        (ok) => check.resolve(ok),
        (err: unknown) => check.reject(err),
      )
      .finally(() => {
        this.#running = false;
        this.#next();
      });
  }
}

export type AuthResult = 'ok' | 'denied' | 'busy';

export class BasicAuthenticator {
  readonly #users: ReadonlyMap<string, string>;
  readonly #cache: AuthCache;
  readonly #queue: CheckQueue;
  /** What unknown users are checked against: as costly as the costliest configured hash. */
  readonly dummyHash: string;
  /** Number of bcrypt comparisons run for this authenticator (for tests and debugging). */
  bcryptRuns = 0;

  constructor(users: ReadonlyMap<string, string>, queue: CheckQueue, cache: AuthCache = new AuthCache()) {
    this.#users = users;
    this.#queue = queue;
    this.#cache = cache;
    let cost = 4;
    for (const hash of users.values()) cost = Math.max(cost, bcryptCost(hash) || 0);
    this.dummyHash = dummyHash(cost);
  }

  get enabled(): boolean {
    return this.#users.size > 0;
  }

  /** `client` groups the checks for fairness (the remote address). */
  async verify(credentials: Credentials | undefined, client = ''): Promise<AuthResult> {
    if (credentials === undefined) return 'denied';
    const stored = this.#users.get(credentials.user);
    const hash = stored ?? this.dummyHash;
    const key = AuthCache.key(credentials.user, hash, credentials.password);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached && stored !== undefined ? 'ok' : 'denied';
    const result = await this.#queue.submit(client, credentials.password, hash);
    if (result === 'busy') return 'busy';
    this.bcryptRuns += 1;
    const ok = result && stored !== undefined;
    this.#cache.set(key, ok);
    return ok ? 'ok' : 'denied';
  }
}
