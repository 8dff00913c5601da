// HTTP basic authentication against bcrypt hashes (exporter-toolkit's basic_auth_users).
// bcrypt is slow on purpose (~70 ms at cost 10), so successful checks are cached under a
// sha256 of (user, stored hash, password): a scraper sending the same credentials every
// 15 s pays the cost once, and a changed hash in the file can never match an old entry.
// Failed checks are not cached (nothing for a guesser to fill the cache with); they run
// one at a time, and unknown users are checked against a dummy hash so that timing does
// not tell which user names exist.

import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

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

/** Cache of successful checks; bounded, oldest entry evicted first. Shared across reloads. */
export class AuthCache {
  readonly #entries = new Set<string>();
  constructor(readonly maxEntries = 256) {}

  static key(user: string, hash: string, password: string): string {
    const h = createHash('sha256');
    for (const part of [user, hash, password]) h.update(String(Buffer.byteLength(part))).update(':').update(part);
    return h.digest('hex');
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  add(key: string): void {
    this.#entries.delete(key);
    this.#entries.add(key);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.values().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

let dummyHash: string | undefined;

export type AuthResult = 'ok' | 'denied' | 'busy';

/** bcrypt comparisons allowed to wait; beyond that a request is answered "busy" (503). */
export const MAX_PENDING_CHECKS = 16;

export class BasicAuthenticator {
  readonly #users: ReadonlyMap<string, string>;
  readonly #cache: AuthCache;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  /** Number of bcrypt comparisons run (for tests and debugging). */
  bcryptRuns = 0;

  constructor(users: ReadonlyMap<string, string>, cache: AuthCache = new AuthCache()) {
    this.#users = users;
    this.#cache = cache;
  }

  get enabled(): boolean {
    return this.#users.size > 0;
  }

  async verify(credentials: Credentials | undefined): Promise<AuthResult> {
    if (credentials === undefined) return 'denied';
    const stored = this.#users.get(credentials.user);
    const hash = stored ?? (dummyHash ??= bcrypt.hashSync('linkstate-exporter dummy password', 10));
    const key = AuthCache.key(credentials.user, hash, credentials.password);
    if (stored !== undefined && this.#cache.has(key)) return 'ok';
    if (this.#pending >= MAX_PENDING_CHECKS) return 'busy';
    const ok = await this.#compare(credentials.password, hash);
    if (ok && stored !== undefined) {
      this.#cache.add(key);
      return 'ok';
    }
    return 'denied';
  }

  /** One bcrypt comparison at a time: it is CPU-bound and would only compete with itself. */
  #compare(password: string, hash: string): Promise<boolean> {
    this.#pending += 1;
    const run = this.#queue
      .then(() => {
        this.bcryptRuns += 1;
        return bcrypt.compare(password, hash);
      })
      .catch(() => false)
      .finally(() => {
        this.#pending -= 1;
      });
    this.#queue = run;
    return run;
  }
}
