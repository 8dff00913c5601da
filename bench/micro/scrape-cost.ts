// Micro benchmark of one /metrics scrape without HTTP: MetricsExposition.expose() — the call the
// server makes — on a table of N links shaped like the bench lab's (lo, lnkI and peerI veths, all
// up), in process, nothing else running. Not part of `npm run bench` or `npm test`.
//
//   node --expose-gc dist/bench/micro/scrape-cost.js [--links 10001] [--runs 400] [--json]
//
// Time: `runs` back-to-back expose() calls per variant after a warm-up; median and p90 of wall
// time and median of the process's CPU time per call, ms.
// Allocation: before each of 60 further calls a full gc(); the bytes the call added to the V8
// heap (used_heap_size) and to Buffer memory (process.memoryUsage().arrayBuffers; zlib's own
// state, freed within the call, is not counted) are what it allocated, since nothing is freed
// without a GC. Calls during which V8 collected anyway (seen by a PerformanceObserver) are
// dropped. Median per call.
// Variants: plain (text format, identity) and Prometheus (OpenMetrics, gzip), as bench/steps/
// scrapes.ts; then the scrape right after one link changed (its chunk re-rendered and, for gzip,
// recompressed), and the scrape right after a rename (every chunk re-rendered).
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { LinkTable } from '../../src/links/table.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { MetricsExposition } from '../../src/metrics/exposition.js';
import { LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { IFF_LOWER_UP, IFF_UP } from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`--${name} wants a positive integer, got ${process.argv[i + 1] ?? 'nothing'}\n`);
    process.exit(2);
  }
  return value;
}

const LINKS = option('links', 10_001);
const RUNS = option('runs', 400);
const ALLOC_RUNS = 60;

function linkMessage(ifindex: number, ifname: string, over: Partial<LinkMessage> = {}): LinkMessage {
  const mac = (ifindex & 0xffffff).toString(16).padStart(6, '0');
  return {
    kind: 'new',
    family: 0,
    ifindex,
    flags: IFF_UP | IFF_LOWER_UP,
    change: 0,
    linkType: 1,
    ifname,
    operstate: 6,
    carrier: 1,
    carrierChanges: 2,
    carrierUpCount: 1,
    carrierDownCount: 1,
    mtu: 1500,
    address: `02:00:00:${mac.slice(0, 2)}:${mac.slice(2, 4)}:${mac.slice(4, 6)}`,
    ifalias: undefined,
    master: undefined,
    infoKind: 'veth',
    ...over,
  };
}

/** lo plus (LINKS - 1) / 2 veth pairs lnkI / peerI, as bench/lib/lab.ts makes them. */
function labMessages(): LinkMessage[] {
  const out: LinkMessage[] = [linkMessage(1, 'lo', { linkType: 772, infoKind: undefined, address: '00:00:00:00:00:00', mtu: 65536 })];
  const pairs = Math.floor((LINKS - 1) / 2);
  for (let i = 0; i < pairs; i++) {
    out.push(linkMessage(2 + 2 * i, `lnk${i}`));
    out.push(linkMessage(3 + 2 * i, `peer${i}`));
  }
  return out;
}

let gcs: number[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push(e.startTime);
});
observer.observe({ entryTypes: ['gc'] });

const now = Date.now();
const table = new LinkTable();
const messages = labMessages();
for (const m of messages) table.apply(m, now);
const renderer = new LinkFamiliesRenderer(table);
const metrics = new ExporterMetrics({ version: '0', revision: 'micro' }, () => renderer.exportedCount);
const exposition = new MetricsExposition(renderer, metrics, () => now);

interface Variant {
  readonly name: string;
  readonly openMetrics: boolean;
  readonly gzip: boolean;
}
const VARIANTS: readonly Variant[] = [
  { name: 'plain', openMetrics: false, gzip: false },
  { name: 'prometheus', openMetrics: true, gzip: true },
];

async function scrape(v: Variant): Promise<number> {
  const e = await exposition.expose({ openMetrics: v.openMetrics, gzip: v.gzip });
  let length = 0;
  for (const piece of e.body) length += piece.length;
  return length;
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number): number => {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** CPU time of this process since c0, ms (less disturbed than wall time on a shared machine). */
const cpuMs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

async function timing(v: Variant): Promise<{ median: number; p90: number; cpu: number; bytes: number }> {
  let bytes = await scrape(v);
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    bytes = await scrape(v);
    cpu.push(cpuMs(c0));
    samples.push(ms(t0));
  }
  return { median: quantile(samples, 0.5), p90: quantile(samples, 0.9), cpu: quantile(cpu, 0.5), bytes };
}

async function allocation(v: Variant, before?: (i: number) => void): Promise<{ heap: number; buffers: number; kept: number }> {
  const heap: number[] = [];
  const buffers: number[] = [];
  for (let i = 0; i < ALLOC_RUNS; i++) {
    before?.(i);
    gc!();
    // Let the observer see the forced GC before the window opens. (Not memoryUsage().external:
    // V8 subtracts freed array buffers from it lazily, which hid exactly what a call allocated.)
    await new Promise((r) => setTimeout(r, 20));
    gcs = [];
    const h0 = v8.getHeapStatistics().used_heap_size;
    const b0 = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    await scrape(v);
    const b1 = process.memoryUsage().arrayBuffers;
    const h1 = v8.getHeapStatistics().used_heap_size;
    const t1 = performance.now();
    await tick();
    if (gcs.some((t) => t >= t0 && t <= t1)) continue;
    heap.push(h1 - h0);
    buffers.push(b1 - b0);
    if (process.env["DEBUG_ALLOC"]) process.stderr.write(`${v.name} ${h1 - h0} ${b1 - b0}\n`);
  }
  return { heap: quantile(heap, 0.5), buffers: quantile(buffers, 0.5), kept: heap.length };
}

/** One link's MTU changes before each call: its chunk is re-rendered (and recompressed for gzip). */
let flip = 0;
const changeOne = (): void => {
  const m = messages[Math.floor(messages.length / 2)] as LinkMessage;
  table.apply({ ...m, mtu: 1500 + (++flip % 2) * 7500 }, now);
};
/** One link is renamed back and forth before each call: every chunk is re-rendered. */
const renameOne = (): void => {
  const m = messages[1] as LinkMessage;
  table.apply({ ...m, ifname: ++flip % 2 === 0 ? m.ifname : 'renamed0' }, now);
};

async function changedTiming(v: Variant, change: () => void): Promise<{ median: number; p90: number; cpu: number }> {
  await scrape(v);
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 100); i++) {
    change();
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    await scrape(v);
    cpu.push(cpuMs(c0));
    samples.push(ms(t0));
  }
  return { median: quantile(samples, 0.5), p90: quantile(samples, 0.9), cpu: quantile(cpu, 0.5) };
}

const results: Record<string, unknown> = { links: table.size, runs: RUNS, node: process.version };
for (const v of VARIANTS) {
  results[v.name] = { ...(await timing(v)), alloc: await allocation(v) };
}
for (const v of VARIANTS) {
  results[`${v.name}_after_one_change`] = { ...(await changedTiming(v, changeOne)), alloc: await allocation(v, changeOne) };
}
for (const v of VARIANTS) {
  results[`${v.name}_after_rename`] = await changedTiming(v, renameOne);
}
observer.disconnect();

if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify(results) + '\n');
} else {
  const kib = (b: number): string => (b / 1024).toFixed(1);
  process.stdout.write(`${table.size} links, ${RUNS} runs, node ${process.version}\n`);
  for (const [name, r] of Object.entries(results)) {
    if (typeof r !== 'object' || r === null) continue;
    const x = r as { median: number; p90: number; cpu: number; bytes?: number; alloc?: { heap: number; buffers: number; kept: number } };
    let line = `${name.padEnd(28)} median ${x.median.toFixed(3)} ms  p90 ${x.p90.toFixed(3)} ms  cpu ${x.cpu.toFixed(3)} ms`;
    if (x.bytes !== undefined) line += `  body ${x.bytes} B`;
    if (x.alloc) line += `  alloc heap ${kib(x.alloc.heap)} KiB + buffers ${kib(x.alloc.buffers)} KiB (n=${x.alloc.kept})`;
    process.stdout.write(line + '\n');
  }
}
