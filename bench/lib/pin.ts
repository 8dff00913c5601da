// Keeping the harness off the exporters' core (taskset): on the 2-core machine, the harness's own
// work (reading bodies, spawning `ip`, its GC threads) otherwise shares both cores with what it
// measures.
import { readFileSync } from 'node:fs';
import { run } from './lab.js';

/** Where the processes ran: the exporters, every thread, on one core and the harness on another (null: not pinned, one core). */
export interface Pinning {
  readonly exportersCpu: number;
  readonly harnessCpu: number;
}

/** The CPUs of /proc/self/status's Cpus_allowed_list ("0-1", "0,2-3"), in order. */
export function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

/**
 * Pins every thread of the exporters to the first CPU of `cpus` and the harness (and the children
 * it spawns from then on) to the second; null with one CPU, or when taskset fails (logged; the
 * measurement runs unpinned).
 */
export async function pinApart(pids: readonly number[], cpus: readonly number[], log: (msg: string) => void): Promise<Pinning | null> {
  const [exportersCpu, harnessCpu] = cpus;
  if (exportersCpu === undefined || harnessCpu === undefined) return null;
  try {
    for (const pid of pids) await run('taskset', ['-a', '-p', '-c', String(exportersCpu), String(pid)]);
    await run('taskset', ['-a', '-p', '-c', String(harnessCpu), String(process.pid)]);
  } catch (err) {
    log(`pinning failed, measuring unpinned: ${(err as Error).message}`);
    return null;
  }
  return { exportersCpu, harnessCpu };
}

/** Lets the harness run on every CPU of `cpus` again. */
export async function unpinHarness(cpus: readonly number[]): Promise<void> {
  await run('taskset', ['-a', '-p', '-c', cpus.join(','), String(process.pid)]);
}
