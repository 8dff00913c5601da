// Three of prom-client's default collectors in lean copies: the same families (names, help,
// types) with the same values, read with fewer syscalls and less garbage (a scrape runs them
// all; the figures are in docs/design.md):
// - processCpuTotal: the same, without its exemplar support;
// - osMemoryHeap: prom-client reads /proc/self/status with readFileSync (open, fstat, read,
//   close) and splits the whole text into lines and objects; here one pread of the same file
//   from a descriptor kept open, and three fields found in its bytes;
// - heapSizeAndUsed: prom-client calls process.memoryUsage(), which also reads the RSS from
//   /proc/self/stat only to drop it; its three values are v8.getHeapStatistics()'s, where
//   process.memoryUsage() takes them from.

import v8 from 'node:v8';
import { fs } from '../runtime/builtins.js';
import { Counter, Gauge, type Registry } from './prom-client-adapter.js';

const { closeSync, fstatSync, openSync, readSync } = fs;

/** process_cpu_user_seconds_total, process_cpu_system_seconds_total, process_cpu_seconds_total. */
export function processCpuCollector(registry: Registry): void {
  const registers = [registry];
  let last = process.cpuUsage();
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    // This one metric's collect sets all three, as prom-client does.
    collect() {
      const now = process.cpuUsage();
      const userMicros = now.user - last.user;
      const systemMicros = now.system - last.system;
      last = now;
      user.inc(userMicros / 1e6);
      system.inc(systemMicros / 1e6);
      total.inc((userMicros + systemMicros) / 1e6);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
}

/** The fields of /proc/self/status this collector exports, as kB. */
export interface StatusMemory {
  readonly vmRssKb: number;
  readonly vmSizeKb: number;
  readonly vmDataKb: number;
}

/**
 * VmRSS, VmSize and VmData of /proc/<pid>/status text (`VmRSS:\t   53812 kB` lines); undefined
 * when one is missing.
 */
export function parseStatusMemory(bytes: Buffer): StatusMemory | undefined {
  const vmRssKb = statusField(bytes, VM_RSS);
  const vmSizeKb = statusField(bytes, VM_SIZE);
  const vmDataKb = statusField(bytes, VM_DATA);
  if (vmRssKb === undefined || vmSizeKb === undefined || vmDataKb === undefined) return undefined;
  return { vmRssKb, vmSizeKb, vmDataKb };
}

const VM_RSS = Buffer.from('\nVmRSS:');
const VM_SIZE = Buffer.from('\nVmSize:');
const VM_DATA = Buffer.from('\nVmData:');
const SPACE = 0x20;
const TAB = 0x09;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

function statusField(bytes: Buffer, key: Buffer): number | undefined {
  const at = bytes.indexOf(key);
  if (at < 0) return undefined;
  let i = at + key.length;
  while (i < bytes.length && (bytes[i] === SPACE || bytes[i] === TAB)) i++;
  let value = 0;
  const start = i;
  for (; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = value * 10 + (c - DIGIT_0);
  }
  return i === start ? undefined : value;
}

/**
 * /proc/self/status, read from one descriptor opened at the first read and kept (procfs makes the
 * text anew at each read from offset 0, and hands it whole to one read that has room for it).
 * undefined when it cannot be read, as prom-client leaves the gauges unset then; the descriptor
 * is then given up, and closed only if it is still the file it was opened as (after a close by
 * someone else its number may be another file's by now), and opened again at the next read.
 */
class StatusReader {
  #fd: number | undefined;
  #ino = -1;
  /** room for the whole text as a rule; doubled when one read fills it (a process in a thousand groups) */
  #buf = Buffer.allocUnsafeSlow(4096);

  read(): Buffer | undefined {
    try {
      if (this.#fd === undefined) {
        this.#fd = openSync('/proc/self/status', 'r');
        this.#ino = fstatSync(this.#fd).ino;
      }
      for (;;) {
        const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, 0);
        if (n < this.#buf.length) return this.#buf.subarray(0, n);
        this.#buf = Buffer.allocUnsafeSlow(this.#buf.length * 2);
      }
    } catch {
      this.#giveUp();
      return undefined;
    }
  }

  #giveUp(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    try {
      if (fstatSync(fd).ino === this.#ino) closeSync(fd);
    } catch {
      // closed already
    }
  }
}

/** One reader for the process: every ExporterMetrics (tests make many) shares its descriptor. */
let statusReader: StatusReader | undefined;

/**
 * Three gauges, registered in order, that the first one's collect sets together from one read (as
 * prom-client's collectors do); a read of undefined leaves them as they were.
 */
function gaugeTrio(
  registry: Registry,
  families: readonly [readonly [string, string], readonly [string, string], readonly [string, string]],
  read: () => readonly [number, number, number] | undefined,
): void {
  const registers = [registry];
  const [[firstName, firstHelp], second, third] = families;
  const first = new Gauge({
    name: firstName,
    help: firstHelp,
    registers,
    collect() {
      const values = read();
      if (values === undefined) return;
      first.set(values[0]);
      others[0].set(values[1]);
      others[1].set(values[2]);
    },
  });
  const others = [second, third].map(([name, help]) => new Gauge({ name, help, registers })) as [Gauge, Gauge];
}

/** prom-client's osMemoryHeap on Linux: process_resident_memory_bytes, process_virtual_memory_bytes, process_heap_bytes. */
export function processMemoryCollector(registry: Registry): void {
  gaugeTrio(
    registry,
    [
      ['process_resident_memory_bytes', 'Resident memory size in bytes.'],
      ['process_virtual_memory_bytes', 'Virtual memory size in bytes.'],
      ['process_heap_bytes', 'Process heap size in bytes.'],
    ],
    () => {
      const bytes = (statusReader ??= new StatusReader()).read();
      const memory = bytes === undefined ? undefined : parseStatusMemory(bytes);
      return memory === undefined ? undefined : [memory.vmRssKb * 1024, memory.vmSizeKb * 1024, memory.vmDataKb * 1024];
    },
  );
}

/** prom-client's heapSizeAndUsed: nodejs_heap_size_total_bytes, nodejs_heap_size_used_bytes, nodejs_external_memory_bytes. */
export function heapSizeCollector(registry: Registry): void {
  gaugeTrio(
    registry,
    [
      ['nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.'],
      ['nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.'],
      ['nodejs_external_memory_bytes', 'Node.js external memory size in bytes.'],
    ],
    () => {
      const heap = v8.getHeapStatistics();
      return [heap.total_heap_size, heap.used_heap_size, heap.external_memory];
    },
  );
}
