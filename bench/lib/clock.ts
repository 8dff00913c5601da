// Time for the bench: CLOCK_MONOTONIC in milliseconds (the clock the C listener stamps with:
// Node's process.hrtime reads CLOCK_MONOTONIC on Linux), and a sleep.

export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
