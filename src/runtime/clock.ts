// Time as the exporter's timed parts see it: the wall clock and one-shot timers, passed in so
// that tests drive time by hand (test/helpers/manual-clock.ts) instead of sleeping.

/** A pending timer. unref(): the process may exit while it waits. */
export interface ClockTimer {
  unref(): unknown;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, `ms` from now. */
  setTimeout(callback: () => void, ms: number): ClockTimer;
  /** Cancels a timer of this clock; undefined or a timer that has run: nothing. */
  clearTimeout(timer: ClockTimer | undefined): void;
}

/** Date.now and Node's timers, looked up at each call. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
