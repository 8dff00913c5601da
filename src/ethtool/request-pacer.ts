// How often the ethtool client may ask about a link, and how many links it may have asked about at
// once (see monitor.ts for the why):
// - at most one request pair in flight per link; a link asked about again meanwhile is marked
//   dirty and asked once more when its replies are in;
// - at most one pair per link per minIntervalMs: a change within that time of the last pair is
//   asked when it is over (hold-down);
// - at most maxInFlight pairs out at once; the rest wait in an insertion-ordered set;
// - a pair unanswered for lostAfterMs is taken as lost (a reply the kernel dropped on a full
//   receive queue) and frees its slot;
// - while the rtnetlink socket has a backlog, requests wait (hold), for at most maxHoldMs: each
//   GET takes rtnl_lock inside our sendto, which a storm's own requests hold, so a request sent
//   then stalls the event loop that is working through the storm's notifications.
// The pacer knows links by ifindex and requests by seq; what is sent and how replies are applied
// is the monitor's.

import type { Clock, ClockTimer } from '../runtime/clock.js';

/** One link's request pair in flight. */
export interface Ask {
  readonly ifindex: number;
  readonly sentAtMs: number;
  /** replies (or errors) still to come: 0, 1 or 2 */
  outstanding: number;
  /** asked about again while in flight: ask once more when the replies are in */
  dirty: boolean;
}

export type Half = 'modes' | 'state';

/** One request of a pair: the link and half it asked for, and the LINKSTATE header flags sent. */
export interface Request {
  readonly ask: Ask;
  readonly half: Half;
  readonly flags?: number;
}

export interface RequestPacerOptions {
  readonly clock: Clock;
  /** Links with a request pair out at once. */
  readonly maxInFlight: number;
  /** A pair unanswered this long is taken as lost. */
  readonly lostAfterMs: number;
  /** Least time between two pairs for one link (0: none). */
  readonly minIntervalMs: number;
  /** Longest that hold(true) keeps requests back. */
  readonly maxHoldMs: number;
  /** Requests may go out (the family is resolved). */
  readonly active: () => boolean;
  /** The link is still in the table. */
  readonly exists: (ifindex: number) => boolean;
  /** Whether a pair for this link would ask anything (a device may support neither half). */
  readonly asksAnything: (ifindex: number) => boolean;
  /** Sends the pair for `ask`, each request registered with track(). */
  readonly send: (ask: Ask) => void;
}

export class RequestPacer {
  readonly #opts: RequestPacerOptions;
  readonly #clock: Clock;
  /** in flight, by ifindex, in the order sent (the first is the oldest) */
  readonly #asks = new Map<number, Ask>();
  /** seq → the link and half it asked for */
  readonly #bySeq = new Map<number, Request>();
  /** links waiting for a free slot, in the order asked */
  readonly #waiting = new Set<number>();
  /** ifindex → when its latest pair was sent (for minIntervalMs); forgotten when the link goes */
  readonly #lastSentMs = new Map<number, number>();
  /** links to ask once minIntervalMs since their latest pair is over: ifindex → due time */
  readonly #delayed = new Map<number, number>();
  #delayTimer: ClockTimer | undefined;
  #delayDueMs = Infinity;
  /** while pairs are in flight: expires those unanswered for lostAfterMs (replies dropped on a congested socket) */
  #lostTimer: ClockTimer | undefined;
  /** since when requests are held for a backlog; undefined: not held */
  #heldSinceMs: number | undefined;

  constructor(opts: RequestPacerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock;
  }

  /** Links with a request pair in flight. */
  get inFlight(): number {
    return this.#asks.size;
  }

  /** The request sent with this seq, while it waits for its answer. */
  request(seq: number): Request | undefined {
    return this.#bySeq.get(seq);
  }

  /** Registers one request of `ask`'s pair, sent with `seq`. */
  track(seq: number, request: Request): void {
    this.#bySeq.set(seq, request);
    request.ask.outstanding++;
  }

  /** Asks about a link: now, when a slot is free, or when its hold-down is over. */
  want(ifindex: number): void {
    if (!this.#opts.active()) return;
    const ask = this.#asks.get(ifindex);
    if (ask !== undefined) {
      if (this.#clock.now() - ask.sentAtMs < this.#opts.lostAfterMs) {
        ask.dirty = true;
        return;
      }
      this.#forget(ask); // its replies were lost
    }
    if (this.#holdDown(ifindex)) return;
    if (this.#held() || (this.#asks.size >= this.#opts.maxInFlight && !this.#expireOldest())) {
      this.#waiting.add(ifindex);
      return;
    }
    this.#send(ifindex);
  }

  /**
   * The rtnetlink socket has a backlog (true) or was read empty (false). While it has one and for
   * at most maxHoldMs from its start, nothing is sent; what was asked meanwhile goes out after.
   */
  hold(behind: boolean): void {
    if (behind) {
      this.#heldSinceMs ??= this.#clock.now();
      return;
    }
    if (this.#heldSinceMs === undefined) return;
    this.#heldSinceMs = undefined;
    this.pump();
  }

  #held(): boolean {
    return this.#heldSinceMs !== undefined && this.#clock.now() - this.#heldSinceMs < this.#opts.maxHoldMs;
  }

  /** Every link is asked about again (what was in flight may be lost). */
  askAll(ifindexes: Iterable<number>): void {
    this.reset();
    if (!this.#opts.active()) return;
    for (const ifindex of ifindexes) this.#waiting.add(ifindex);
    this.pump();
  }

  /** One half of a pair is answered (reply, error or undecodable). */
  answered(seq: number): void {
    const entry = this.#bySeq.get(seq);
    if (entry === undefined) return;
    this.#bySeq.delete(seq);
    const ask = entry.ask;
    ask.outstanding--;
    if (ask.outstanding > 0) return;
    if (this.#asks.get(ask.ifindex) === ask) this.#asks.delete(ask.ifindex);
    if (ask.dirty && this.#opts.exists(ask.ifindex) && !this.#holdDown(ask.ifindex)) this.#waiting.add(ask.ifindex);
  }

  /** Fills free slots from the waiting links. */
  pump(): void {
    if (!this.#opts.active() || this.#held()) return;
    for (const ifindex of this.#waiting) {
      if (this.#asks.size >= this.#opts.maxInFlight && !this.#expireOldest()) return;
      this.#waiting.delete(ifindex);
      if (this.#asks.has(ifindex)) {
        (this.#asks.get(ifindex) as Ask).dirty = true;
        continue;
      }
      if (this.#opts.exists(ifindex)) this.#send(ifindex);
    }
  }

  /** The link is gone: nothing of it is kept. */
  linkGone(ifindex: number): void {
    this.#waiting.delete(ifindex);
    this.#lastSentMs.delete(ifindex);
    this.#delayed.delete(ifindex);
  }

  /** Forgets every request in flight or waiting, and stops the timers. */
  reset(): void {
    this.#heldSinceMs = undefined;
    this.#asks.clear();
    this.#bySeq.clear();
    this.#waiting.clear();
    this.#delayed.clear();
    this.#clock.clearTimeout(this.#delayTimer);
    this.#delayTimer = undefined;
    this.#delayDueMs = Infinity;
    this.#clock.clearTimeout(this.#lostTimer);
    this.#lostTimer = undefined;
  }

  #send(ifindex: number): void {
    if (!this.#opts.asksAnything(ifindex)) return;
    const ask: Ask = { ifindex, sentAtMs: this.#clock.now(), outstanding: 0, dirty: false };
    this.#asks.set(ifindex, ask);
    if (this.#lostTimer === undefined) this.#armLostTimer();
    if (this.#opts.minIntervalMs > 0) this.#lastSentMs.set(ifindex, ask.sentAtMs);
    this.#opts.send(ask);
  }

  /** True when the link's latest pair is too recent: it is asked when minIntervalMs is over. */
  #holdDown(ifindex: number): boolean {
    const last = this.#lastSentMs.get(ifindex);
    if (last === undefined) return false;
    const due = last + this.#opts.minIntervalMs;
    if (this.#clock.now() >= due) return false;
    if (!this.#delayed.has(ifindex)) this.#delayed.set(ifindex, due);
    if (due < this.#delayDueMs) this.#armDelay(due);
    return true;
  }

  #armDelay(due: number): void {
    this.#clock.clearTimeout(this.#delayTimer);
    this.#delayDueMs = due;
    this.#delayTimer = this.#clock.setTimeout(this.#delayOver, Math.max(0, due - this.#clock.now()));
    this.#delayTimer.unref();
  }

  readonly #delayOver = (): void => {
    this.#delayTimer = undefined;
    this.#delayDueMs = Infinity;
    if (!this.#opts.active()) return;
    const now = this.#clock.now();
    let next = Infinity;
    for (const [ifindex, due] of this.#delayed) {
      if (due <= now) {
        this.#delayed.delete(ifindex);
        if (this.#opts.exists(ifindex)) this.want(ifindex);
      } else if (due < next) next = due;
    }
    if (next !== Infinity && next < this.#delayDueMs) this.#armDelay(next);
    this.pump();
  };

  #armLostTimer(): void {
    this.#lostTimer = this.#clock.setTimeout(this.#lostCheck, this.#opts.lostAfterMs);
    this.#lostTimer.unref();
  }

  /** A kernel whose reply found our receive queue full drops it silently: ask those links again. */
  readonly #lostCheck = (): void => {
    this.#lostTimer = undefined;
    if (!this.#opts.active()) return;
    while (this.#expireOldest()) {
      // expired and queued again
    }
    this.pump();
    if (this.#asks.size > 0 && this.#lostTimer === undefined) this.#armLostTimer();
  };

  /** Drops the oldest pair in flight if its replies count as lost; true when a slot was freed. */
  #expireOldest(): boolean {
    const oldest = this.#asks.values().next();
    if (oldest.done === true || this.#clock.now() - oldest.value.sentAtMs < this.#opts.lostAfterMs) return false;
    this.#forget(oldest.value);
    if (oldest.value.dirty || this.#opts.exists(oldest.value.ifindex)) this.#waiting.add(oldest.value.ifindex);
    return true;
  }

  #forget(ask: Ask): void {
    this.#asks.delete(ask.ifindex);
    for (const [seq, entry] of this.#bySeq) if (entry.ask === ask) this.#bySeq.delete(seq);
  }
}
