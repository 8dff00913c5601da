// The soak run (`npm run soak`, root, minutes; not part of `npm test`). In a throwaway network
// namespace with IPv6 off, against the built exporter over loopback:
//   1. churn: PAIRS veth pairs (2 x PAIRS interfaces) created and deleted ROUNDS times while
//      CHURN_SCRAPERS clients scrape without pause; after each creation every exported counter
//      must equal the kernel's, after each deletion only lo may be left; then the scrapers rest
//      6 s and the RSS after GC is read (within 10 % of round 0's);
//   2. load: PAIRS pairs again, SCRAPERS concurrent clients scraping for SECONDS while a carrier
//      storm flaps the peers round-robin; then every counter must equal the kernel's;
//   3. netns churn: a second exporter, with --collector.netns, scraped without pause while
//      NETNS_COUNT namespaces (`ip netns add`, each holding one veth peer from the lab) are created
//      and deleted NETNS_ROUNDS times; after each deletion no series of a deleted namespace may be
//      left, linkstate_exporter_namespaces and the lab's nsids (`ip netns list-id`) must be back at
//      their baselines, the lab's veth ends gone (the namespaces really died), and the RSS after a
//      forced GC within 10 % of the first round's.
// With the netns phase the soak re-executes itself under `unshare --mount` with a tmpfs of its own
// on /run/netns: the exporter then sees the soak's namespaces only, not the host's or other runs'.
// It records requests served and failed, latencies, the exporter's memory (sampled RSS, peak RSS,
// heap and RSS after a forced GC) and its own health counters, prints a summary and writes the
// whole report as JSON (--out). Exit code 0 only when every comparison was exact and no request
// failed.
//
//   npm run soak [-- --pairs 2500 --rounds 10 --scrapers 32 --seconds 60 --out soak.json]
//   npm run soak -- --phases netns [--netns-count 200 --netns-rounds 5]
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MAIN } from '../test/helpers/exporter.js';
import { byDevice, parseSamples, sampleValue, type Sample } from '../test/helpers/exposition.js';
import { DISABLE_IPV6, MonotonicCheck, kernelMismatches, mib, processMemory, readKernelCounters } from '../test/helpers/kernel-match.js';
import { collectedMemory, probeNodeOptions, rssByMapping, type CollectedMemory } from '../test/helpers/memory-probe.js';
import { createNetns, enterNetns, type Netns } from '../test/helpers/netns.js';

const GROUP = 9;
/** Rest before each churn round's memory probe (V8 sizes its young generation by the allocation of the last ~5 s). */
const REST_BEFORE_PROBE_MS = 6_000;
const PORT = 19400;
const BASE = `http://127.0.0.1:${PORT}`;

interface Options {
  readonly pairs: number;
  readonly rounds: number;
  readonly scrapers: number;
  readonly churnScrapers: number;
  readonly seconds: number;
  readonly logLevel: string;
  /** Idle time at the end before the last memory reading, for V8's memory reducer to shrink the heap. */
  readonly settleSeconds: number;
  readonly out: string | undefined;
  readonly phases: ReadonlySet<Phase>;
  readonly netnsCount: number;
  readonly netnsRounds: number;
}

const PHASES = ['churn', 'load', 'netns'] as const;
type Phase = (typeof PHASES)[number];
/** Set in the re-executed soak: it runs in a mount namespace of its own with a tmpfs on /run/netns. */
const PRIVATE_MOUNTS_ENV = 'LSX_SOAK_PRIVATE_RUN_NETNS';
const TMPFS_SOURCE = 'lsx-soak-netns';

// ---- the exporter under test ---------------------------------------------------------------

interface Exporter {
  readonly child: ReturnType<Netns['spawn']>;
  readonly logPath: string;
  /** While this file exists, the probe also runs malloc_trim(0). */
  readonly trimFlag: string;
  /** Bytes of log written since `from` (the probe's answers are read from there). */
  logSince(from: number): string;
  logSize(): number;
}

function startExporter(ns: Netns, logLevel: string, extraArgs: readonly string[] = []): Exporter {
  const dir = mkdtempSync(join(tmpdir(), 'lsx-soak-'));
  const logPath = join(dir, 'exporter.log');
  const trimFlag = join(dir, 'trim');
  const logFd = openSync(logPath, 'a');
  const child = ns.spawn(process.execPath, [MAIN, `--web.listen-address=127.0.0.1:${PORT}`, `--log.level=${logLevel}`, ...extraArgs], {
    stdio: ['ignore', 'ignore', logFd],
    env: { ...process.env, NODE_OPTIONS: probeNodeOptions(), LSX_PROBE_TRIM_FLAG: trimFlag },
  });
  closeSync(logFd);
  const logSize = (): number => {
    const fd = openSync(logPath, 'r');
    try {
      return fstatSync(fd).size;
    } finally {
      closeSync(fd);
    }
  };
  return {
    child,
    logPath,
    trimFlag,
    logSize,
    logSince(from) {
      const fd = openSync(logPath, 'r');
      try {
        const size = fstatSync(fd).size;
        const buf = Buffer.alloc(Math.max(0, size - from));
        readSync(fd, buf, 0, buf.length, from);
        return buf.toString('utf8');
      } finally {
        closeSync(fd);
      }
    },
  };
}

/**
 * Memory after a full GC, read at the second of two GCs 250 ms apart. The first frees what died
 * (a round's links: their rendered chunks); V8 sweeps ArrayBuffers on a background thread, so
 * right after gc() those bytes may still be counted (array buffers and RSS alike), depending on
 * how far the sweeper got. The second GC reads what is retained, not how far the sweeper got
 * (docs/design.md, Measured trade-offs).
 */
async function probe(exporter: Exporter, thenTrim = false): Promise<CollectedMemory> {
  const from = exporter.logSize();
  // each call waits for one more answer than the log since `from` holds
  const read = (): Promise<CollectedMemory> => collectedMemory({ child: exporter.child, log: () => exporter.logSince(from) }, 30_000);
  await read();
  await new Promise((resolve) => setTimeout(resolve, 250));
  // thenTrim: the second probe also runs malloc_trim(0), after it has read the RSS
  if (thenTrim) writeFileSync(exporter.trimFlag, '');
  return read();
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, stepMs = 200): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return { value, ms: Date.now() - t0 };
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

async function scrape(): Promise<Sample[]> {
  const res = await fetch(`${BASE}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseSamples(text);
}

// ---- measurements --------------------------------------------------------------------------

/** CPU seconds (user + system, all threads) a process has used, from /proc/PID/stat (USER_HZ = 100). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU used by the exporter and by this process (the scrapers) over a phase, in cores. */
function cpuMeter(pid: number): () => Record<string, number> {
  const t0 = Date.now();
  const exporter0 = cpuSeconds(pid);
  const self0 = process.cpuUsage();
  return () => {
    const wall = (Date.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const r = (x: number): number => Math.round(x * 100) / 100;
    return { exporter_cores: r((cpuSeconds(pid) - exporter0) / wall), scrapers_cores: r((self.user + self.system) / 1e6 / wall) };
  };
}

class RssSampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  max = 0;
  samples = 0;
  constructor(pid: number) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.sample(), 250);
  }
  sample(): number {
    try {
      const rss = processMemory(this.#pid).rssBytes;
      this.max = Math.max(this.max, rss);
      this.samples += 1;
      return rss;
    } catch {
      return NaN; // exited
    }
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

interface ScrapeStats {
  served: number;
  failed: number;
  bytes: number;
  latenciesMs: number[];
  failures: Record<string, number>;
}

function newStats(): ScrapeStats {
  return { served: 0, failed: 0, bytes: 0, latenciesMs: [], failures: {} };
}

/** GET /metrics with gzip over a kept-alive connection; the body stays compressed. */
function getMetrics(agent: http.Agent): Promise<{ status: number; body: Buffer; gzip: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${BASE}/metrics`, { agent, headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), gzip: res.headers['content-encoding'] === 'gzip' }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
  });
}

/**
 * `count` clients scraping /metrics back to back (gzip, as Prometheus asks, each on its own
 * kept-alive connection) until stop() or the deadline. The clients only count bytes, so that
 * the figures are the exporter's, not the load generator's; every `checkEvery`-th answer of
 * client 0 is decompressed, parsed and fed to `check`.
 */
function scrapers(
  count: number,
  deadline: number,
  check?: (samples: Sample[]) => void,
  checkEvery = 10,
): { stats: ScrapeStats; stop(): Promise<void>; pause(): Promise<void>; resume(): void; done: Promise<void> } {
  const stats = newStats();
  let stopped = false;
  // while paused: a promise the clients wait on before their next request, and its resolver
  let paused: Promise<void> | undefined;
  let resumePaused = (): void => {};
  let inFlight = 0;
  let idle = (): void => {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: count });
  const client = async (id: number): Promise<void> => {
    let n = 0;
    while (!stopped && Date.now() < deadline) {
      if (paused !== undefined) {
        await paused;
        continue;
      }
      inFlight += 1;
      const t0 = performance.now();
      try {
        const res = await getMetrics(agent);
        const ms = performance.now() - t0;
        if (res.status === 200) {
          stats.served += 1;
          stats.bytes += res.body.length;
          stats.latenciesMs.push(ms);
          if (check && id === 0 && n++ % checkEvery === 0) {
            check(parseSamples((res.gzip ? gunzipSync(res.body) : res.body).toString('utf8')));
          }
        } else {
          stats.failed += 1;
          stats.failures[`HTTP ${res.status}`] = (stats.failures[`HTTP ${res.status}`] ?? 0) + 1;
        }
      } catch (error) {
        stats.failed += 1;
        const key = (error as Error).message;
        stats.failures[key] = (stats.failures[key] ?? 0) + 1;
      } finally {
        inFlight -= 1;
        if (inFlight === 0) idle();
      }
    }
  };
  const running = Promise.all(Array.from({ length: count }, (_, id) => client(id))).then(() => agent.destroy());
  return {
    stats,
    done: running,
    stop: async () => {
      stopped = true;
      resumePaused();
      await running;
    },
    /** No new requests until resume(); resolves once the ones in flight are answered. */
    pause: async () => {
      paused ??= new Promise<void>((resolve) => (resumePaused = resolve));
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
    },
    resume: () => {
      paused = undefined;
      resumePaused();
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function summarize(stats: ScrapeStats, seconds: number): Record<string, unknown> {
  const sorted = [...stats.latenciesMs].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    served: stats.served,
    failed: stats.failed,
    failures: stats.failures,
    per_second: r(stats.served / seconds),
    mean_gzip_body_kib: stats.served > 0 ? r(stats.bytes / stats.served / 1024) : 0,
    latency_ms: { p50: r(percentile(sorted, 50)), p90: r(percentile(sorted, 90)), p99: r(percentile(sorted, 99)), max: r(sorted[sorted.length - 1] ?? NaN) },
  };
}

function memoryFigures(m: CollectedMemory): Record<string, number> {
  return {
    rss_mib: mib(m.rssBytes),
    rss_at_gc_mib: mib(m.rssAtGcBytes),
    heap_used_mib: mib(m.heapUsedBytes),
    heap_total_mib: mib(m.heapTotalBytes),
    external_mib: mib(m.externalBytes),
    array_buffers_mib: mib(m.arrayBuffersBytes),
    ...(m.newSpaceBytes === undefined ? {} : { new_space_mib: mib(m.newSpaceBytes) }),
    ...(m.rssTrimmedBytes === undefined ? {} : { rss_after_malloc_trim_mib: mib(m.rssTrimmedBytes) }),
  };
}

function mappingFigures(pid: number | undefined): Record<string, number> {
  if (pid === undefined) return {};
  const m = rssByMapping(pid);
  return { brk_heap: mib(m.brkHeap), anonymous: mib(m.anonymous), file: mib(m.file) };
}

async function exporterCounters(): Promise<Record<string, number>> {
  const samples = await scrape();
  const sum = (name: string): number => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
  return {
    messages: sum('linkstate_exporter_netlink_messages_total'),
    overruns: sum('linkstate_exporter_netlink_overruns_total'),
    resyncs: sum('linkstate_exporter_netlink_resyncs_total'),
    dumps_interrupted: sum('linkstate_exporter_netlink_dumps_interrupted_total'),
    dropped: sum('linkstate_exporter_netlink_dropped_total'),
    socket_reopens: sum('linkstate_exporter_netlink_socket_reopens_total'),
  };
}

// ---- the phases ----------------------------------------------------------------------------

function createLines(pairs: number, prefix: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < pairs; i++) lines.push(`link add ${prefix}${i} group ${GROUP} type veth peer name ${prefix}${i}p group ${GROUP}`);
  for (let i = 0; i < pairs; i++) lines.push(`link set ${prefix}${i} up`, `link set ${prefix}${i}p up`);
  return lines;
}

/** Waits until the exporter exports exactly the kernel's devices and counters; returns how long that took. */
async function waitExact(ns: Netns, expectedLinks: number, timeoutMs: number): Promise<{ ms: number; devices: number }> {
  const { value, ms } = await until(
    `${expectedLinks} links exported, equal to the kernel's`,
    async () => {
      const samples = await scrape();
      if (sampleValue(samples, 'linkstate_exporter_links') !== expectedLinks) throw new Error(`links ${sampleValue(samples, 'linkstate_exporter_links')}`);
      const kernel = await readKernelCounters(ns);
      const wrong = kernelMismatches(samples, kernel);
      if (wrong.length > 0) throw new Error(`${wrong.length} mismatches, e.g. ${wrong.slice(0, 3).join('; ')}`);
      return byDevice(samples, 'linkstate_up').size;
    },
    timeoutMs,
  );
  return { ms, devices: value };
}

async function churn(ns: Netns, exporter: Exporter, opts: Options, rss: RssSampler): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const cpu = cpuMeter(exporter.child.pid!);
  const load = scrapers(opts.churnScrapers, Date.now() + 60 * 60 * 1000);
  const rounds: Record<string, unknown>[] = [];
  const afterGc: CollectedMemory[] = [];
  let exact = true;
  try {
    for (let round = 0; round < opts.rounds; round++) {
      const r0 = Date.now();
      await ns.ipBatch(createLines(opts.pairs, `s${round}x`));
      const created = Date.now() - r0;
      const full = await waitExact(ns, 1 + 2 * opts.pairs, 180_000).catch((error: Error) => {
        exact = false;
        return { ms: NaN, devices: NaN, error: error.message };
      });
      const rssFull = rss.sample();
      const d0 = Date.now();
      await ns.ipBatch([`link del group ${GROUP}`]);
      const deleted = Date.now() - d0;
      const empty = await until(
        'only lo left',
        async () => {
          const samples = await scrape();
          const devices = [...byDevice(samples, 'linkstate_up').keys()];
          const stray = samples.filter((s) => s.labels['device'] !== undefined && s.labels['device'] !== 'lo');
          if (devices.length !== 1 || devices[0] !== 'lo' || stray.length > 0 || sampleValue(samples, 'linkstate_exporter_links') !== 1) {
            throw new Error(`${stray.length} series of deleted devices left`);
          }
          return true;
        },
        180_000,
      ).catch((error: Error) => {
        exact = false;
        return { value: false, ms: NaN, error: error.message };
      });
      // Memory is read at rest, as between Prometheus's scrapes: the scrapers pause for
      // REST_BEFORE_PROBE_MS first. While they scrape without pause, V8 keeps its young
      // generation at whatever size the round's storm grew it to (it shrinks only at a collection
      // after seconds of little allocation), and the RSS after GC followed that size from round
      // to round (docs/design.md, Measured trade-offs).
      await load.pause();
      await new Promise((resolve) => setTimeout(resolve, REST_BEFORE_PROBE_MS));
      const gc = await probe(exporter);
      const byMapping = mappingFigures(exporter.child.pid);
      load.resume();
      afterGc.push(gc);
      const row = {
        round,
        create_ms: created,
        exact_after_ms: full.ms,
        devices: full.devices,
        rss_full_mib: mib(rssFull),
        delete_ms: deleted,
        empty_after_ms: empty.ms,
        after_gc: memoryFigures(gc),
        rss_after_gc_vs_round_0: Math.round((gc.rssBytes / (afterGc[0] as CollectedMemory).rssBytes) * 1000) / 1000,
        // which part of the RSS moves from round to round (the brk heap is malloc's main arena)
        rss_after_gc_by_mapping_mib: byMapping,
        ...('error' in full ? { error: full.error } : {}),
        ...('error' in empty ? { error_empty: empty.error } : {}),
      };
      rounds.push(row);
      process.stdout.write(`churn round ${round}: ${JSON.stringify(row)}\n`);
    }
  } finally {
    await load.stop();
  }
  const seconds = (Date.now() - t0) / 1000;
  return {
    interfaces_per_round: 2 * opts.pairs,
    rounds: opts.rounds,
    seconds: Math.round(seconds),
    exact,
    // per second of scraping: the rests before the probes left out
    scrapes: summarize(load.stats, seconds - (opts.rounds * REST_BEFORE_PROBE_MS) / 1000),
    cpu: cpu(),
    per_round: rounds,
    heap_used_after_gc_mib: afterGc.map((m) => mib(m.heapUsedBytes)),
    rss_after_gc_mib: afterGc.map((m) => mib(m.rssBytes)),
    // the soak's memory target: every round's RSS after GC within 10 % of round 0's (measured the
    // same way: after the same deletion and the same rest), with no malloc_trim before
    rss_after_gc_within_10_percent: afterGc.every((m) => m.rssBytes <= 1.1 * (afterGc[0] as CollectedMemory).rssBytes),
  };
}

async function loadUnderStorm(ns: Netns, exporter: Exporter, opts: Options, rss: RssSampler): Promise<Record<string, unknown>> {
  await ns.ipBatch(createLines(opts.pairs, 'l'));
  const ready = await waitExact(ns, 1 + 2 * opts.pairs, 180_000);
  const before = await probe(exporter);
  const kernelBefore = await readKernelCounters(ns);
  const idle = scrapers(1, Date.now() + 5000);
  await idle.done;

  // the storm: every peer down and up in turn, in chunks, until the deadline
  const deadline = Date.now() + opts.seconds * 1000;
  let transitions = 0;
  let stormChunks = 0;
  const storm = (async () => {
    const chunkPeers = 500;
    let next = 0;
    while (Date.now() < deadline) {
      const lines: string[] = [];
      for (let k = 0; k < chunkPeers; k++) {
        const i = (next + k) % opts.pairs;
        lines.push(`link set l${i}p down`, `link set l${i}p up`);
      }
      next = (next + chunkPeers) % opts.pairs;
      await ns.ipBatch(lines);
      transitions += 2 * chunkPeers;
      stormChunks += 1;
    }
  })();
  const monotonic = new MonotonicCheck();
  const t0 = Date.now();
  const cpu = cpuMeter(exporter.child.pid!);
  const load = scrapers(opts.scrapers, deadline, (samples) => monotonic.observe(samples, 'during the storm'), 5);
  await load.done;
  const cpuUsed = cpu();
  await storm;
  const seconds = (Date.now() - t0) / 1000;
  const settled = await waitExact(ns, 1 + 2 * opts.pairs, 180_000).then(
    (r) => ({ exact: true, ms: r.ms }),
    (error: Error) => ({ exact: false, ms: NaN, error: error.message }),
  );
  const kernelAfter = await readKernelCounters(ns);
  let kernelChanges = 0;
  for (const [device, k] of kernelAfter) kernelChanges += k.carrierChanges - (kernelBefore.get(device)?.carrierChanges ?? 0);
  const after = await probe(exporter);
  return {
    interfaces: 2 * opts.pairs,
    scrapers: opts.scrapers,
    seconds: Math.round(seconds),
    time_to_exact_after_start_ms: ready.ms,
    idle_single_scraper: summarize(idle.stats, 5),
    storm: { ip_requests: transitions, chunks: stormChunks, kernel_carrier_changes: kernelChanges },
    scrapes: summarize(load.stats, seconds),
    cpu: cpuUsed,
    monotonic_samples_checked: monotonic.checked,
    monotonic_violations: monotonic.violations.slice(0, 10),
    exact_after_storm: settled,
    memory_after_gc_before: memoryFigures(before),
    memory_after_gc_after: memoryFigures(after),
    rss_peak_sampled_mib: mib(rss.max),
  };
}

// ---- the netns churn (--collector.netns) ------------------------------------------------------

/** The top mount at /run/netns in this process's mount table. */
function runNetnsMount(): { fstype: string; source: string } | undefined {
  let found: { fstype: string; source: string } | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined || left.split(' ')[4] !== '/run/netns') continue;
    const [fstype, source] = right.split(' ');
    found = { fstype: fstype ?? '', source: source ?? '' };
  }
  return found;
}

/**
 * Outside: runs this same soak again under `unshare --mount --propagation slave` and returns its
 * exit code. Inside (the environment variable set): mounts the tmpfs on /run/netns and returns
 * undefined. The mount goes away with the mount namespace when the soak ends, and with it every
 * namespace made under it.
 */
function privateRunNetns(): number | undefined {
  if (process.env[PRIVATE_MOUNTS_ENV] !== '1') {
    const r = spawnSync('unshare', ['--mount', '--propagation', 'slave', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [PRIVATE_MOUNTS_ENV]: '1' },
    });
    if (r.error) throw new Error(`unshare --mount: ${r.error.message}`);
    return r.status ?? 2;
  }
  mkdirSync('/run/netns', { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=755', TMPFS_SOURCE, '/run/netns'], { encoding: 'utf8' });
  const top = runNetnsMount();
  if (m.status !== 0 || top?.fstype !== 'tmpfs' || top.source !== TMPFS_SOURCE) throw new Error(`cannot mount a private tmpfs on /run/netns: ${m.stderr.trim() || JSON.stringify(top)}`);
  if (readdirSync('/run/netns').length !== 0) throw new Error('the fresh /run/netns is not empty');
  return undefined;
}

/** One `ip -batch -` in this process's namespaces (for `netns add|del`: the scrapers keep running meanwhile). */
function ipBatchHere(lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exited ${code}: ${stderr.trim()}`))));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

interface NetnsState {
  /** linkstate_exporter_namespaces */
  readonly namespaces: number;
  /** samples carrying a netns label */
  readonly netnsSeries: number;
  /** samples whose netns label is one of `names` */
  readonly namedSeries: number;
  /** of `names`, those with a linkstate_netns_info sample */
  readonly namedInfo: number;
  /**
   * nsids the lab knows for other namespaces (`ip -n LAB netns list-id`). The lab's nsid for
   * itself is not counted: the kernel allocates one the first time a link dump of another
   * namespace (IFLA_TARGET_NETNSID) meets a veth whose peer is in the lab (IFLA_LINK_NETNSID is
   * computed relative to the asking socket's namespace), and it lives as long as the lab does.
   */
  readonly nsids: number;
  /** whether the lab has an nsid for itself */
  readonly selfNsid: boolean;
  /** links in the lab (`ip -n LAB -o link`) */
  readonly labLinks: number;
  /** `ip netns list-id`'s lines, when there are any */
  readonly nsidList?: readonly string[];
}

async function netnsState(ns: Netns, names: ReadonlySet<string>): Promise<NetnsState> {
  const samples = await scrape();
  let netnsSeries = 0;
  let namedSeries = 0;
  const info = new Set<string>();
  for (const s of samples) {
    const label = s.labels['netns'];
    if (label === undefined) continue;
    netnsSeries += 1;
    if (names.has(label)) {
      namedSeries += 1;
      if (s.name === 'linkstate_netns_info') info.add(label);
    }
  }
  const listId = spawnSync('ip', ['-n', ns.name, 'netns', 'list-id'], { encoding: 'utf8' }).stdout;
  const links = spawnSync('ip', ['-n', ns.name, '-o', 'link'], { encoding: 'utf8' }).stdout;
  return {
    namespaces: sampleValue(samples, 'linkstate_exporter_namespaces') ?? NaN,
    netnsSeries,
    namedSeries,
    namedInfo: info.size,
    nsids: listId.split('\n').filter((l) => l.startsWith('nsid ') && !l.includes(`(iproute2 netns name: ${ns.name})`)).length,
    selfNsid: listId.includes(`(iproute2 netns name: ${ns.name})`),
    ...(listId.trim() === '' ? {} : { nsidList: listId.trim().split('\n') }),
    labLinks: links.split('\n').filter((l) => l !== '').length,
  };
}

async function netnsChurn(ns: Netns, exporter: Exporter, opts: Options): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const none = new Set<string>();
  const base = await netnsState(ns, none);
  process.stdout.write(`netns churn: baseline ${JSON.stringify(base)}\n`);
  const cpu = cpuMeter(exporter.child.pid!);
  const load = scrapers(opts.churnScrapers, Date.now() + 60 * 60 * 1000);
  const rounds: Record<string, unknown>[] = [];
  const deleted = new Set<string>();
  let exact = true;
  let firstRss: number | undefined;
  let rssWithin = true;
  try {
    for (let round = 0; round < opts.netnsRounds; round++) {
      const names = Array.from({ length: opts.netnsCount }, (_, k) => `soakns-${round}-${k}`);
      const nameSet = new Set(names);
      const c0 = Date.now();
      await ipBatchHere(names.map((n) => `netns add ${n}`));
      // One veth per namespace: its lab end is there until the namespace really dies.
      await ns.ipBatch(names.map((n, k) => `link add nsc${k} type veth peer name p0 netns ${n}`));
      const createMs = Date.now() - c0;
      // each namespace: lo and p0
      const full = await until(
        `${opts.netnsCount} namespaces exported`,
        async () => {
          const st = await netnsState(ns, nameSet);
          if (st.namespaces !== base.namespaces + opts.netnsCount || st.namedInfo !== opts.netnsCount || st.namedSeries === 0) {
            throw new Error(`namespaces ${st.namespaces}, named ${st.namedInfo} of ${opts.netnsCount}`);
          }
          const up = (await scrape()).filter((s) => s.name === 'linkstate_up' && s.labels['netns'] !== undefined && nameSet.has(s.labels['netns']));
          if (up.length !== 2 * opts.netnsCount) throw new Error(`${up.length} linkstate_up of the new namespaces, expected ${2 * opts.netnsCount}`);
          return st;
        },
        60_000,
      ).catch((error: Error) => {
        exact = false;
        return { value: undefined, ms: NaN, error: error.message };
      });
      const rssFull = processMemory(exporter.child.pid!).rssBytes;
      const d0 = Date.now();
      await ipBatchHere(names.map((n) => `netns del ${n}`));
      const deleteMs = Date.now() - d0;
      for (const n of names) deleted.add(n);
      const empty = await until(
        'every deleted namespace gone',
        async () => {
          const st = await netnsState(ns, deleted);
          if (st.namedSeries !== 0 || st.netnsSeries !== base.netnsSeries || st.namespaces !== base.namespaces || st.nsids !== base.nsids || st.labLinks !== base.labLinks) {
            throw new Error(JSON.stringify(st));
          }
          return st;
        },
        120_000,
        100,
      ).catch(async (error: Error) => {
        exact = false;
        return { value: await netnsState(ns, deleted), ms: NaN, error: error.message };
      });
      const gc = await probe(exporter);
      firstRss ??= gc.rssBytes;
      const rssRatio = gc.rssBytes / firstRss;
      if (rssRatio > 1.1) rssWithin = false;
      const after = empty.value;
      const row = {
        round,
        create_ms: createMs,
        exported_after_ms: full.ms,
        namespaces_when_full: full.value?.namespaces,
        rss_full_mib: mib(rssFull),
        delete_ms: deleteMs,
        gone_after_ms: empty.ms,
        after: {
          namespaces_gauge: after.namespaces,
          series_of_deleted: after.namedSeries,
          netns_series: after.netnsSeries,
          nsids: after.nsids,
          self_nsid: after.selfNsid,
          lab_links: after.labLinks,
        },
        after_gc: memoryFigures(gc),
        rss_after_gc_vs_round_0: Math.round(rssRatio * 1000) / 1000,
        ...('error' in full ? { error: full.error } : {}),
        ...('error' in empty ? { error_gone: empty.error } : {}),
      };
      rounds.push(row);
      process.stdout.write(`netns churn round ${round}: ${JSON.stringify(row)}\n`);
    }
  } finally {
    await load.stop();
  }
  const seconds = (Date.now() - t0) / 1000;
  const health = await exporterCounters();
  const errors = (await scrape()).filter((s) => s.name === 'linkstate_exporter_netns_errors_total').map((s) => `${s.labels['reason']}=${s.value}`);
  return {
    namespaces_per_round: opts.netnsCount,
    rounds: opts.netnsRounds,
    seconds: Math.round(seconds),
    baseline: base,
    exact,
    rss_after_gc_within_10_percent: rssWithin,
    scrapes: summarize(load.stats, seconds),
    cpu: cpu(),
    per_round: rounds,
    rss_after_gc_mib: rounds.map((r) => (r['after_gc'] as Record<string, number>)['rss_mib']),
    exporter_counters: health,
    netns_errors: errors,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      pairs: { type: 'string', default: '2500' },
      rounds: { type: 'string', default: '10' },
      scrapers: { type: 'string', default: '32' },
      'churn-scrapers': { type: 'string', default: '4' },
      seconds: { type: 'string', default: '60' },
      'log-level': { type: 'string', default: 'info' },
      'settle-seconds': { type: 'string', default: '60' },
      out: { type: 'string' },
      phases: { type: 'string', default: PHASES.join(',') },
      'netns-count': { type: 'string', default: '200' },
      'netns-rounds': { type: 'string', default: '5' },
    },
  });
  const phaseList = (values.phases ?? '').split(',').map((p) => p.trim());
  const badPhase = phaseList.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (phaseList.length === 0 || badPhase.length > 0) {
    process.stderr.write(`soak: unknown phase ${badPhase.join(', ')}; phases: ${PHASES.join(', ')}\n`);
    return 2;
  }
  const opts: Options = {
    pairs: Number(values.pairs),
    rounds: Number(values.rounds),
    scrapers: Number(values.scrapers),
    churnScrapers: Number(values['churn-scrapers']),
    seconds: Number(values.seconds),
    logLevel: values['log-level'] ?? 'info',
    settleSeconds: Number(values['settle-seconds']),
    out: values.out,
    phases: new Set(phaseList as Phase[]),
    netnsCount: Number(values['netns-count']),
    netnsRounds: Number(values['netns-rounds']),
  };
  if (process.getuid?.() !== 0) {
    process.stderr.write('soak: needs root (network namespaces, veth pairs)\n');
    return 2;
  }
  if (opts.phases.has('netns')) {
    const code = privateRunNetns();
    if (code !== undefined) return code;
  }
  const started = new Date().toISOString();
  const ns = await createNetns('lsx-soak');
  let exporter: Exporter | undefined;
  let rss: RssSampler | undefined;
  let leave: (() => void) | undefined;
  try {
    await ns.run('sysctl', DISABLE_IPV6);
    leave = enterNetns(ns.name);
    const waitReady = (): Promise<unknown> =>
      until('ready', async () => ((await fetch(`${BASE}/-/ready`, { headers: { connection: 'close' } }).catch(() => undefined))?.status === 200 ? true : undefined), 20_000, 50);
    const stop = async (e: Exporter): Promise<void> => {
      if (e.child.exitCode !== null || e.child.signalCode !== null) return;
      const exited = new Promise((resolve) => e.child.once('exit', resolve));
      e.child.kill('SIGTERM');
      await exited;
    };
    const report: Record<string, unknown> = { started, node: process.version, options: { ...opts, phases: [...opts.phases] } };
    let ok = true;
    if (opts.phases.has('churn') || opts.phases.has('load')) {
      exporter = startExporter(ns, opts.logLevel);
      await waitReady();
      rss = new RssSampler(exporter.child.pid!);
      const start = await probe(exporter);
      const startPeak = processMemory(exporter.child.pid!).peakRssBytes;
      process.stdout.write(`soak: exporter pid ${exporter.child.pid}, ${opts.pairs} pairs (${2 * opts.pairs} interfaces), log ${exporter.logPath}\n`);

      const churnReport = opts.phases.has('churn') ? await churn(ns, exporter, opts, rss) : undefined;
      const loadReport = opts.phases.has('load') ? await loadUnderStorm(ns, exporter, opts, rss) : undefined;
      const health = await exporterCounters();
      // The churn leaves nothing behind (each round ends with lo only); the load phase's links go here.
      if (loadReport) await ns.ipBatch([`link del group ${GROUP}`]);
      await until('only lo left at the end', async () => (sampleValue(await scrape(), 'linkstate_exporter_links') === 1 ? true : undefined), 180_000);
      const end = await probe(exporter);
      // then idle, unscraped: V8 shrinks a heap it no longer needs only after a while (memory reducer)
      await new Promise((resolve) => setTimeout(resolve, opts.settleSeconds * 1000));
      const settledRss = processMemory(exporter.child.pid!).rssBytes;
      const settled = await probe(exporter, true);
      const peak = processMemory(exporter.child.pid!).peakRssBytes;
      rss.stop();
      Object.assign(report, {
        memory: {
          start_after_gc: memoryFigures(start),
          start_peak_rss_mib: mib(startPeak),
          peak_rss_mib: mib(peak),
          end_after_gc: memoryFigures(end),
          [`end_after_${opts.settleSeconds}s_idle_rss_mib`]: mib(settledRss),
          [`end_after_${opts.settleSeconds}s_idle_then_gc_and_malloc_trim`]: memoryFigures(settled),
        },
        ...(churnReport ? { churn: churnReport } : {}),
        ...(loadReport ? { load: loadReport } : {}),
        exporter_counters: health,
        log_bytes: exporter.logSize(),
      });
      if (churnReport) {
        ok &&= churnReport['exact'] === true && churnReport['rss_after_gc_within_10_percent'] === true && (churnReport['scrapes'] as { failed: number }).failed === 0;
      }
      if (loadReport) {
        ok &&=
          (loadReport['exact_after_storm'] as { exact: boolean }).exact &&
          (loadReport['monotonic_violations'] as string[]).length === 0 &&
          (loadReport['scrapes'] as { failed: number }).failed === 0;
      }
      await stop(exporter);
    }
    if (opts.phases.has('netns')) {
      exporter = startExporter(ns, opts.logLevel, ['--collector.netns', '--collector.netns.paths=/run/netns']);
      await waitReady();
      process.stdout.write(`soak: netns exporter pid ${exporter.child.pid}, ${opts.netnsCount} namespaces x ${opts.netnsRounds} rounds, log ${exporter.logPath}\n`);
      const netnsReport = await netnsChurn(ns, exporter, opts);
      report['netns_churn'] = { ...netnsReport, log_bytes: exporter.logSize() };
      ok &&= netnsReport['exact'] === true && netnsReport['rss_after_gc_within_10_percent'] === true && (netnsReport['scrapes'] as { failed: number }).failed === 0;
      await stop(exporter);
    }
    const json = JSON.stringify(report, null, 2);
    if (opts.out) writeFileSync(opts.out, json + '\n');
    process.stdout.write(`${json}\n`);
    process.stdout.write(ok ? 'soak: PASS (all counts exact, no failed request, nothing left behind)\n' : 'soak: FAIL\n');
    return ok ? 0 : 1;
  } finally {
    rss?.stop();
    if (exporter && exporter.child.exitCode === null) {
      const exited = new Promise((resolve) => exporter!.child.once('exit', resolve));
      exporter.child.kill('SIGTERM');
      await exited;
    }
    leave?.();
    await ns.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
