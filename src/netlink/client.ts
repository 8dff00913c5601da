// What every netlink client of the exporter shares (the link monitor, the ethtool monitor, the
// namespace discovery): the socket it holds, the sequence numbers of its requests, its
// rate-limited warnings, and the reopen of a failed socket after a doubling backoff. The timers
// run on the injected clock and are unref'd: a client waiting to reopen never holds the process.

import type { NetlinkSocketError } from './errors.js';
import { rateLimited, type Logger, type RateLimitedLog } from '../runtime/logger.js';
import type { Clock, ClockTimer } from '../runtime/clock.js';

/** nlmsg_seq of a client's requests: 1, 2, ... wrapping past 2^32 - 1 to 1, never 0. */
export class Sequence {
  #seq: number;

  /** `last`: the number taken to be used already (tests start near the wrap). */
  constructor(last = 0) {
    this.#seq = last;
  }

  next(): number {
    this.#seq = (this.#seq + 1) >>> 0 || 1;
    return this.#seq;
  }
}

/** A delay that doubles after each use, up to a largest one, until reset. */
export class Backoff {
  #delayMs: number;

  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
  ) {
    this.#delayMs = initialMs;
  }

  /** The delay to wait now; the next one is twice as long, at most maxMs. */
  next(): number {
    const delay = this.#delayMs;
    this.#delayMs = Math.min(delay * 2, this.maxMs);
    return delay;
  }

  reset(): void {
    this.#delayMs = this.initialMs;
  }
}

export interface NetlinkClientOptions<S> {
  /** Opens a socket: at start and at each reopen. Throws NetlinkSocketError. */
  readonly open: () => S;
  readonly logger: Logger;
  readonly clock: Clock;
  /** First and largest delay before reopening a failed socket (default 100 ms and 30 s). */
  readonly backoff?: { readonly initial: number; readonly max: number };
  /** Interval of the rate limit on warnings (drops, overruns). */
  readonly logIntervalMs: number;
  /** How the reopen log line names the socket ("netlink socket"). */
  readonly name: string;
}

export class NetlinkClient<S extends { close(): unknown }> {
  readonly seq = new Sequence();
  /** The client's rate-limited warnings; DropRecorder logs through it. */
  readonly log: RateLimitedLog;
  readonly #opts: NetlinkClientOptions<S>;
  readonly #backoff: Backoff;
  #socket: S | undefined;
  #reopenTimer: ClockTimer | undefined;
  #closed = false;

  constructor(opts: NetlinkClientOptions<S>) {
    this.#opts = opts;
    this.#backoff = new Backoff(opts.backoff?.initial ?? 100, opts.backoff?.max ?? 30_000);
    this.log = rateLimited(opts.logger, opts.logIntervalMs, { now: () => opts.clock.now() });
  }

  /** The open socket, if any. */
  get socket(): S | undefined {
    return this.#socket;
  }

  /** close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Opens a socket and holds it. Throws what `open` throws (NetlinkSocketError). */
  open(): S {
    const socket = this.#opts.open();
    this.#socket = socket;
    return socket;
  }

  /**
   * The socket failed: it is closed, and `reopen` is called after the backoff (unless the client
   * is closed by then). Returns the delay.
   */
  failed(error: NetlinkSocketError, reopen: () => void): number {
    const socket = this.#socket;
    this.#socket = undefined;
    const delay = this.#backoff.next();
    this.#opts.logger.error({ err: error.message, retry_in_ms: delay }, `${this.#opts.name} failed, reopening`);
    void socket?.close();
    this.#opts.clock.clearTimeout(this.#reopenTimer);
    this.#reopenTimer = this.#opts.clock.setTimeout(() => {
      this.#reopenTimer = undefined;
      if (!this.#closed) reopen();
    }, delay);
    this.#reopenTimer.unref();
    return delay;
  }

  /** The socket works (a dump or a family resolved on it): the next failure waits the first delay again. */
  recovered(): void {
    this.#backoff.reset();
  }

  /** Closes the socket for good without reopening it (the client gives up, e.g. no such family). */
  discard(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    void socket?.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#opts.clock.clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
    this.log.flush();
    const socket = this.#socket;
    this.#socket = undefined;
    await socket?.close();
  }
}
