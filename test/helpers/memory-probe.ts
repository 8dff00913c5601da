// Memory of a running exporter after a full garbage collection, for leak checks. The exporter is
// started with NODE_OPTIONS="--expose-gc --import=<probe>": on SIGUSR2 the probe runs gc() on the
// main thread and writes one line `gc-probe heap_used=N rss=N` to stderr. Without a forced GC,
// heap and RSS at any moment mostly measure how much garbage happens to be waiting.
// When the file named by LSX_PROBE_TRIM_FLAG exists, the probe then also calls glibc's
// malloc_trim(0) and adds `rss_trimmed=N`: how much of the RSS was freed native memory that the
// allocator had kept rather than memory in use.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startExporter, type RunningExporter } from './exporter.js';
import type { Netns } from './netns.js';

const KOFFI = pathToFileURL(createRequire(import.meta.url).resolve('koffi')).href;

/** How long after gc() the probe reads the RSS. */
const SETTLE_MS = 200;

const PROBE = `import { existsSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
if (isMainThread) {
  const flag = process.env.LSX_PROBE_TRIM_FLAG;
  process.on('SIGUSR2', async () => {
    globalThis.gc();
    const m = process.memoryUsage();
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    // The RSS once the collection's background work is done (V8 unmaps freed pages and sweeps
    // array buffers on other threads): read right after gc() it still held megabytes that went
    // within the next moments (the soak showed it: docs/design.md, Measured trade-offs).
    await new Promise((resolve) => setTimeout(resolve, ${SETTLE_MS}));
    let line = 'gc-probe heap_used=' + m.heapUsed + ' rss=' + process.memoryUsage.rss() + ' heap_total=' + m.heapTotal + ' external=' + m.external + ' array_buffers=' + m.arrayBuffers + ' rss_at_gc=' + m.rss;
    if (young) line += ' new_space=' + young.space_size;
    if (flag && existsSync(flag)) {
      const koffi = (await import(${JSON.stringify(KOFFI)})).default;
      koffi.load('libc.so.6').func('int malloc_trim(size_t pad)')(0);
      line += ' rss_trimmed=' + process.memoryUsage().rss;
    }
    process.stderr.write(line + '\\n');
  });
}
`;

let probePath: string | undefined;

function probeModule(): string {
  if (probePath === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'lsx-gc-probe-'));
    probePath = join(dir, 'gc-probe.mjs');
    writeFileSync(probePath, PROBE);
  }
  return probePath;
}

/** NODE_OPTIONS that load the probe into a node process. */
export function probeNodeOptions(): string {
  return `--expose-gc --import=${pathToFileURL(probeModule()).href}`;
}

/** startExporter with the probe loaded. */
export function startProbedExporter(ns: Netns, args: readonly string[] = []): Promise<RunningExporter> {
  const saved = process.env['NODE_OPTIONS'];
  // startExporter spawns synchronously, before its first await, with this process's environment.
  process.env['NODE_OPTIONS'] = probeNodeOptions();
  try {
    return startExporter(ns, args);
  } finally {
    if (saved === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = saved;
  }
}

export interface CollectedMemory {
  /** V8 heap in use right after a full GC. */
  readonly heapUsedBytes: number;
  /** Resident set size SETTLE_MS after that GC (its background unmapping and sweeping done). */
  readonly rssBytes: number;
  /** Resident set size right after gc() returned. */
  readonly rssAtGcBytes: number;
  /** Heap V8 holds from the system (used or not). */
  readonly heapTotalBytes: number;
  /** Memory of C++ objects bound to JS objects (Buffers among them). */
  readonly externalBytes: number;
  /** ArrayBuffers and Buffers (part of external). */
  readonly arrayBuffersBytes: number;
  /** V8's young generation (new_space space_size) after that GC: it grows in a storm (young-generation.ts). */
  readonly newSpaceBytes?: number;
  /** RSS after malloc_trim(0), when the trim flag file existed. */
  readonly rssTrimmedBytes?: number;
}

const PROBE_LINE = /^gc-probe heap_used=(\d+) rss=(\d+) heap_total=(\d+) external=(\d+) array_buffers=(\d+) rss_at_gc=(\d+)(?: new_space=(\d+))?(?: rss_trimmed=(\d+))?$/gm;

/** The probe's answers found in a piece of log, in order. */
export function parseProbeLines(log: string): CollectedMemory[] {
  return [...log.matchAll(PROBE_LINE)].map((line) => ({
    heapUsedBytes: Number(line[1]),
    rssBytes: Number(line[2]),
    heapTotalBytes: Number(line[3]),
    externalBytes: Number(line[4]),
    arrayBuffersBytes: Number(line[5]),
    rssAtGcBytes: Number(line[6]),
    ...(line[7] === undefined ? {} : { newSpaceBytes: Number(line[7]) }),
    ...(line[8] === undefined ? {} : { rssTrimmedBytes: Number(line[8]) }),
  }));
}

/**
 * Forces a full GC in the exporter and reads its memory. `exporter.log()` is what the exporter
 * wrote to stderr so far (for a RunningExporter) or since some point (enough to hold the answer).
 */
export async function collectedMemory(
  exporter: Pick<RunningExporter, 'child' | 'log'>,
  timeoutMs = 10_000,
): Promise<CollectedMemory> {
  const seen = parseProbeLines(exporter.log()).length;
  exporter.child.kill('SIGUSR2');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = parseProbeLines(exporter.log())[seen];
    if (answer) return answer;
    if (Date.now() > deadline) throw new Error('the exporter did not answer the gc probe (started with its NODE_OPTIONS?)');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A process's resident memory by kind of mapping (/proc/PID/smaps), bytes. */
export interface RssByMapping {
  /** glibc's main arena: the brk heap ("[heap]") */
  readonly brkHeap: number;
  /** anonymous mappings: V8's heap pages, thread arenas, mmapped allocations, stacks */
  readonly anonymous: number;
  /** file-backed mappings: node's binary, shared libraries, koffi's module */
  readonly file: number;
}

/** Where a process's RSS is, read from /proc/PID/smaps (for leak reports: which one grows). */
export function rssByMapping(pid: number): RssByMapping {
  let brkHeap = 0;
  let anonymous = 0;
  let file = 0;
  let kind: 'brk' | 'anon' | 'file' = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header !== null) {
      const name = header[1] ?? '';
      kind = name === '[heap]' ? 'brk' : name === '' || name.startsWith('[') ? 'anon' : 'file';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss === null) continue;
    const bytes = Number(rss[1]) * 1024;
    if (kind === 'brk') brkHeap += bytes;
    else if (kind === 'anon') anonymous += bytes;
    else file += bytes;
  }
  return { brkHeap, anonymous, file };
}
