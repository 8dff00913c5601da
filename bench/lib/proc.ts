// What the kernel knows about a process: CPU time, memory, context switches (/proc).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every Linux architecture in use). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of the whole process (all threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** utime and stime of the process (every thread), seconds: its own code and the kernel's work for it. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
}

export interface Memory {
  /** VmRSS, bytes */
  readonly rss: number;
  /** VmHWM (peak RSS), bytes */
  readonly peakRss: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM') };
}

/**
 * Time on CPU of the process's live threads, seconds, from `/proc/PID/task/TID/schedstat` (the
 * scheduler's nanoseconds): for figures of a few ms, which /proc/PID/stat rounds to 10 ms ticks.
 */
export function runSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      continue; // thread ended meanwhile
    }
  }
  return ns / 1e9;
}

/** Voluntary + involuntary context switches summed over the process's threads: its wake-ups. */
export function contextSwitches(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    } catch {
      continue; // thread ended meanwhile
    }
    for (const m of status.matchAll(/^(?:nonvoluntary_|voluntary_)ctxt_switches:\s+(\d+)$/gm)) total += Number(m[1]);
  }
  return total;
}

/**
 * Resets the process's VmHWM to its current RSS (`echo 5 > /proc/PID/clear_refs`, Linux ≥ 4.0),
 * so that VmHWM read later is the peak since now. Returns false if the kernel refused.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads VmRSS (and VmHWM) every intervalMs. The peak is the highest VmRSS seen, or, with useHwm
 * (VmHWM was reset by resetPeakRss just before), the larger of that and the last VmHWM, which
 * also catches a peak between two readings.
 */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  readonly #useHwm: boolean;
  #peakRss = 0;
  #hwm = 0;
  #samples = 0;
  #gone = false;

  constructor(pid: number, intervalMs = 50, useHwm = false) {
    this.#pid = pid;
    this.#useHwm = useHwm;
    this.#read();
    this.#timer = setInterval(() => this.#read(), intervalMs);
  }

  #read(): void {
    if (this.#gone) return;
    try {
      const m = memory(this.#pid);
      this.#peakRss = Math.max(this.#peakRss, m.rss);
      if (this.#useHwm) this.#hwm = m.peakRss;
      this.#samples++;
    } catch {
      this.#gone = true; // the process ended (an OOM kill, for one)
    }
  }

  /** Stops sampling (one last reading first). */
  stop(): { peakRss: number; samples: number; processGone: boolean } {
    this.#read();
    clearInterval(this.#timer);
    return { peakRss: Math.max(this.#peakRss, this.#hwm), samples: this.#samples, processGone: this.#gone };
  }
}
