// A Clock whose time moves only when a test says so: advance(ms) runs, in order of due time, the
// timers that fall due, each seeing now() at its own due time.
import type { Clock, ClockTimer } from '../../src/runtime/clock.js';

interface Pending extends ClockTimer {
  readonly due: number;
  readonly order: number;
  readonly callback: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  readonly #pending = new Set<Pending>();

  constructor(startMs = 1_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): ClockTimer {
    // As Node does: a delay below 1 ms (or not a number) is 1 ms.
    const delay = Number.isFinite(ms) && ms >= 1 ? ms : 1;
    const timer: Pending = { due: this.#now + delay, order: this.#order++, callback, unref: () => timer };
    this.#pending.add(timer);
    return timer;
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (timer !== undefined) this.#pending.delete(timer as Pending);
  }

  /** Timers not yet run nor cleared. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Moves time on by `ms` without running a timer, as when the event loop was busy: the timers
   * due meanwhile run late, at the next advance().
   */
  stall(ms: number): void {
    this.#now += ms;
  }

  /** Moves time on by `ms`, running every timer due meanwhile (also those they set). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const t of this.#pending) if (t.due <= until && (next === undefined || t.due < next.due || (t.due === next.due && t.order < next.order))) next = t;
      if (next === undefined) break;
      this.#pending.delete(next);
      this.#now = Math.max(this.#now, next.due); // a timer late after stall() runs at once
      next.callback();
    }
    this.#now = until;
  }
}
