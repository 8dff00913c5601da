// Micro benchmark of the stand-ins on the scrape path against what they replace, in one process,
// alternated: the exporter's registry text (registry-text.ts) against prom-client's own
// Registry#metrics(); the gzip piece cache against compressing the pieces anew each scrape and
// against zlib.gzipSync of the whole body. For scale, MetricsExposition.expose() on a
// 10,001-link table shaped like the bench lab's (without HTTP: the kernel's part of a scrape is
// not counted; the scrape-baseline step of `npm run bench` measures whole scrapes). Run it with
// the exporter's V8 flags, or the young generation grows and the garbage costs less than in the
// exporter. Not part of `npm run bench` or `npm test`.
//
//   node --semi-space-growth-factor=1 --optimize-for-size dist/bench/micro/stand-ins.js [--links 10001] [--rounds 3]
//
// CPU time of the process per call (process.cpuUsage: the GC threads count too), median of
// `rounds` alternated blocks.
import { gzipSync } from 'node:zlib';
import { LinkTable } from '../../src/links/table.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { MetricsExposition } from '../../src/metrics/exposition.js';
import { GzipPieceCache } from '../../src/metrics/gzip-piece-cache.js';
import { LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { IFF_LOWER_UP, IFF_UP } from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}
const LINKS = option('links', 10_001);
const ROUNDS = option('rounds', 3);

function linkMessage(ifindex: number, ifname: string): LinkMessage {
  return {
    kind: 'new', family: 0, ifindex, flags: IFF_UP | IFF_LOWER_UP, change: 0, linkType: 1, ifname, operstate: 6, carrier: 1,
    carrierChanges: 2, carrierUpCount: 1, carrierDownCount: 1, mtu: 1500, address: '02:00:00:00:00:01', ifalias: undefined,
    master: undefined, infoKind: 'veth',
  };
}

const now = Date.now();
const table = new LinkTable();
table.apply({ ...linkMessage(1, 'lo'), linkType: 772, infoKind: undefined }, now);
for (let i = 0; i < (LINKS - 1) / 2; i++) {
  table.apply(linkMessage(2 + 2 * i, `lnk${i}`), now);
  table.apply(linkMessage(3 + 2 * i, `peer${i}`), now);
}
const renderer = new LinkFamiliesRenderer(table);
const metrics = new ExporterMetrics({ version: '0', revision: 'micro' }, () => renderer.exportedCount);
const exposition = new MetricsExposition(renderer, metrics, () => now);

async function cpuPerCall(calls: number, body: () => Promise<unknown> | unknown): Promise<number> {
  await body();
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await body();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / calls;
}

const variants: Record<string, [number, () => Promise<unknown> | unknown]> = {
  'scrape plain (expose)': [100, () => exposition.expose({ openMetrics: false, gzip: false })],
  'scrape gzip (expose, cached pieces)': [100, () => exposition.expose({ openMetrics: true, gzip: true })],
  'scrape gzip, pieces compressed anew': [5, () => new MetricsExposition(renderer, metrics, () => now, new GzipPieceCache()).expose({ openMetrics: true, gzip: true })],
  'scrape gzip, zlib.gzipSync of the body': [5, async () => gzipSync(Buffer.concat((await exposition.expose({ openMetrics: true, gzip: false })).body))],
  'registry text: registry-text.ts': [2000, () => metrics.renderPrometheus()],
  'registry text: prom-client metrics()': [2000, () => metrics.registry.metrics()],
};

const results: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, [calls, body]] of Object.entries(variants)) (results[name] ??= []).push(await cpuPerCall(calls, body));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
process.stdout.write(`${LINKS} links, CPU ms per call, median of ${ROUNDS} [min–max]\n`);
for (const [name, xs] of Object.entries(results)) {
  process.stdout.write(`${name.padEnd(42)} ${median(xs).toFixed(4)} [${Math.min(...xs).toFixed(4)}–${Math.max(...xs).toFixed(4)}]\n`);
}
