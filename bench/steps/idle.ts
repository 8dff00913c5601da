// Idle cost: CPU time (utime + stime from /proc/PID/stat) and wake-ups (context switches of all
// threads) of each process over a window in which nothing changes and nobody scrapes.
import { cpuSeconds, contextSwitches, CLOCK_TICKS_PER_SECOND } from '../lib/proc.js';
import { sleep, monoMs } from '../lib/clock.js';

export interface IdleResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** CPU time / wall time, in percent of one core */
  readonly cpuPercent: number;
  /** context switches per second, all threads */
  readonly wakeupsPerSecond: number;
  /** resolution of cpuPercent (one clock tick over the window), percent */
  readonly resolutionPercent: number;
}

export async function measureIdle(pids: Readonly<Record<string, number>>, seconds: number): Promise<Record<string, IdleResult>> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, { cpu: cpuSeconds(pid), cs: contextSwitches(pid) }]));
  const t0 = monoMs();
  await sleep(seconds * 1000);
  const wall = (monoMs() - t0) / 1000;
  const out: Record<string, IdleResult> = {};
  for (const [k, pid] of Object.entries(pids)) {
    const b = before[k] as { cpu: number; cs: number };
    const cpu = cpuSeconds(pid) - b.cpu;
    out[k] = {
      seconds: wall,
      cpuSeconds: cpu,
      cpuPercent: (cpu / wall) * 100,
      wakeupsPerSecond: (contextSwitches(pid) - b.cs) / wall,
      resolutionPercent: (1 / CLOCK_TICKS_PER_SECOND / wall) * 100,
    };
  }
  return out;
}
