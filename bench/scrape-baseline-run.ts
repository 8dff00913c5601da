// Step `scrape-baseline`: the scrape of this build against the scrape of a baseline revision (by
// default f650b85, the last commit before the ethtool client and bridge port state), in the same
// lab and the same run, interleaved, so that the loopback's and the machine's drift from run to
// run cancels out of the ratio. Runs inside the lab's network namespace (run.ts starts it under
// `ip netns exec`); writes scrape-baseline.json.
//   1. the lab: N veth pairs (default 5,000: 10,001 interfaces), settled (every veth operationally up);
//   2. three exporters on their own ports, started one after the other: the baseline (its default
//      flags), this build (default flags) and this build with --no-collector.ethtool; each ready
//      (/-/ready), this build with ethtool on also until linkstate_speed_bytes is there for every
//      veth (the ethtool fill-in after ready), then all three idle;
//   3. per header set (plain, then Prometheus): warm-up scrapes of each (the first one's body
//      checked: one linkstate_up per interface), then `scrapes` rounds, each one scrape of every
//      exporter in turn (the order rotated from round to round), each on its own keep-alive
//      connection, timed as in steps/scrapes.ts; CPU (utime + stime) of each exporter over its
//      series; the machine's CPU over the series from /proc/stat (the load the others put on it).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLab, interfaceCount, run } from './lib/lab.js';
import { startOurs, type Running, type LaunchOptions } from './lib/exporters.js';
import { ScrapeClient, bodyText, PLAIN_HEADERS, PROMETHEUS_HEADERS } from './lib/http.js';
import { cpuTimes, memory, type Memory } from './lib/proc.js';
import { monoMs, sleep } from './lib/clock.js';
import { median, percentile, summarize, type Summary } from './lib/stats.js';
import { waitQuiet } from './steps/storm.js';
import { allowedCpus, pinApart, type Pinning } from './lib/pin.js';
import { runLabStep } from './lib/lab-step.js';

export type BaselineVariant = 'baseline' | 'current' | 'currentNoEthtool';
export const VARIANTS: readonly BaselineVariant[] = ['baseline', 'current', 'currentNoEthtool'];
export type HeaderSet = 'plain' | 'prometheus';
export const HEADER_SETS: readonly HeaderSet[] = ['plain', 'prometheus'];

export interface ScrapeBaselineConfig {
  readonly pairs: number;
  readonly outDir: string;
  /** timed scrapes per exporter and header set */
  readonly scrapes: number;
  /** untimed scrapes per exporter and header set before them */
  readonly warmups: number;
  readonly baselineMain: string;
  readonly baselineRevision: string;
  readonly baselineSubject: string;
  /** this build's main.js (--exporter), default this checkout's */
  readonly exporterMain?: string;
  readonly exporterNodeOptions: string;
}

export interface BaselineSeries extends Summary {
  readonly p90: number;
  /** every timing, ms, in order (round i of every exporter is samples[i]) */
  readonly samples: readonly number[];
  /** median body size on the wire, bytes */
  readonly bytes: number;
  /** uncompressed body (of the first warm-up scrape), bytes */
  readonly textBytes: number;
  readonly contentEncoding: string;
  /** utime + stime of the exporter over the timed series ÷ scrapes, ms */
  readonly cpuMsPerScrape: number;
  /** the two parts of it: utime (the exporter's own code) and stime (the kernel's work for it: the socket copy, loopback TCP); absent in results from before the split */
  readonly userMsPerScrape?: number;
  readonly systemMsPerScrape?: number;
  /** median wall ms ÷ MiB of uncompressed body */
  readonly msPerMiB: number;
  /** CPU ms per scrape ÷ MiB of uncompressed body */
  readonly cpuMsPerMiB: number;
}

export interface BaselineExporter {
  readonly args: readonly string[];
  readonly main: string;
  readonly readyMs: number;
  /** linkstate_speed_bytes samples in the body when the scrapes began */
  readonly speedSamples: number;
  /** spawn to the moment the body was complete (ethtool filled in) and the exporter idle, ms */
  readonly settledMs: number;
  readonly plain: BaselineSeries;
  readonly prometheus: BaselineSeries;
  /** after the scrapes */
  readonly memory: Memory;
}

export interface BaselineRatio {
  /** median ÷ median (the target is judged on this one) */
  readonly median: number;
  /** median over the rounds of this one's scrape ÷ the baseline's in the same round */
  readonly pairedMedian: number;
  /** median ÷ median within each of BLOCKS consecutive stretches of rounds: the spread within the run */
  readonly blocks: readonly number[];
  readonly p90: number;
  readonly textBytes: number;
  readonly wireBytes: number;
  /** median wall per MiB of uncompressed body */
  readonly perMiB: number;
  readonly cpu: number;
  readonly cpuPerMiB: number;
  /** utime and stime ratios (absent in results from before the split) */
  readonly user?: number;
  readonly system?: number;
}

export interface MachineLoad {
  /** /proc/loadavg's 1-minute figure before and after the scrapes */
  readonly loadavgBefore: number;
  readonly loadavgAfter: number;
  /** busy share of all cores over the timed series (/proc/stat), % */
  readonly busyPercent: number;
  /** the part of that the three exporters and this harness account for, % of all cores */
  readonly oursPercent: number;
  readonly cores: number;
  /** TCP segments the lab's namespace retransmitted over the series (/proc/net/snmp RetransSegs): loopback reordering */
  readonly retransSegs: number;
  /** the harness's own CPU (utime + stime: the node:http client reading the bodies) ÷ scrapes of all three, ms; absent in older results */
  readonly harnessCpuMsPerScrape?: number;
}

export interface ScrapeBaselineResult {
  readonly pairs: number;
  readonly interfaces: number;
  readonly labSeconds: number;
  readonly scrapes: number;
  readonly warmups: number;
  readonly baselineRevision: string;
  readonly baselineSubject: string;
  readonly exporters: Readonly<Record<BaselineVariant, BaselineExporter>>;
  /** this build ÷ the baseline, per header set; current = default flags, currentNoEthtool = --no-collector.ethtool */
  readonly ratios: Readonly<Record<'current' | 'currentNoEthtool', Readonly<Record<HeaderSet, BaselineRatio>>>>;
  readonly load: Readonly<Record<HeaderSet, MachineLoad>>;
  /** absent in results from before the step pinned */
  readonly pinning?: Pinning | null;
  readonly durationSeconds: number;
}

const PORTS: Readonly<Record<BaselineVariant, number>> = { baseline: 10091, current: 10092, currentNoEthtool: 10093 };
const T0 = Date.now();
const MiB = 2 ** 20;
/** stretches of rounds the median ratio is also taken over, to show its spread within the run */
const BLOCKS = 5;

function log(msg: string): void {
  process.stderr.write(`bench: [${((Date.now() - T0) / 1000).toFixed(1)} s] ${msg}\n`);
}

const count = (text: string, prefix: string): number => (text.match(new RegExp(`^${prefix}\\{`, 'gm')) ?? []).length;

/** user+nice+system+irq+softirq+steal and all of it, in ticks, from /proc/stat's first line */
function machineTicks(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** RetransSegs of /proc/net/snmp's Tcp lines (this network namespace's). */
function retransSegs(): number {
  const tcp = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Tcp:'));
  const names = (tcp[0] ?? '').split(/\s+/);
  const values = (tcp[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RetransSegs')]);
}

const loadavg = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** Waits until this build's body has linkstate_speed_bytes for `want` links (ethtool answers after ready). */
async function waitForEthtool(client: ScrapeClient, want: number, timeoutMs: number): Promise<number> {
  const deadline = monoMs() + timeoutMs;
  let n = 0;
  for (;;) {
    n = count(bodyText(await client.get('/metrics', PLAIN_HEADERS, true)), 'linkstate_speed_bytes');
    if (n >= want) return n;
    if (monoMs() > deadline) {
      log(`current: only ${n} of ${want} linkstate_speed_bytes samples after ${timeoutMs / 1000} s; scraping anyway (the table shows it)`);
      return n;
    }
    await sleep(500);
  }
}

interface Live {
  readonly variant: BaselineVariant;
  readonly running: Running;
  readonly client: ScrapeClient;
  readonly args: readonly string[];
  readonly main: string;
  readonly startedAt: number;
  speedSamples: number;
}

async function series(live: readonly Live[], headers: Readonly<Record<string, string>>, config: ScrapeBaselineConfig, interfaces: number): Promise<{ series: Map<BaselineVariant, BaselineSeries>; load: MachineLoad }> {
  const text = new Map<BaselineVariant, { textBytes: number; encoding: string }>();
  for (const l of live) {
    for (let i = 0; i < config.warmups; i++) {
      const r = await l.client.get('/metrics', headers, i === 0);
      if (r.status !== 200) throw new Error(`${l.variant}: warm-up scrape answered ${r.status}`);
      if (i === 0) {
        const body = bodyText(r);
        const up = count(body, 'linkstate_up');
        if (up !== interfaces) throw new Error(`${l.variant}: ${up} linkstate_up samples, expected ${interfaces}`);
        text.set(l.variant, { textBytes: Buffer.byteLength(body), encoding: r.contentEncoding });
      }
    }
  }
  const samples = new Map<BaselineVariant, number[]>(live.map((l) => [l.variant, []]));
  const sizes = new Map<BaselineVariant, number[]>(live.map((l) => [l.variant, []]));
  const harness0 = process.cpuUsage();
  const load0 = loadavg();
  const m0 = machineTicks();
  const cpu0 = live.map((l) => cpuTimes(l.running.pid));
  const retrans0 = retransSegs();
  for (let round = 0; round < config.scrapes; round++) {
    for (let k = 0; k < live.length; k++) {
      const l = live[(round + k) % live.length] as Live;
      const r = await l.client.get('/metrics', headers);
      if (r.status !== 200) throw new Error(`${l.variant}: scrape answered ${r.status}`);
      samples.get(l.variant)?.push(r.ms);
      sizes.get(l.variant)?.push(r.bytes);
    }
  }
  const cpu1 = live.map((l) => cpuTimes(l.running.pid));
  const retrans = retransSegs() - retrans0;
  const m1 = machineTicks();
  const harness = process.cpuUsage(harness0);
  const load1 = loadavg();
  // each exporter's utime and stime over the series, seconds
  const used = cpu1.map((c, i) => {
    const c0 = cpu0[i] as { user: number; system: number };
    return { user: c.user - c0.user, system: c.system - c0.system };
  });
  const out = new Map<BaselineVariant, BaselineSeries>();
  live.forEach((l, i) => {
    const s = samples.get(l.variant) as number[];
    const t = text.get(l.variant) as { textBytes: number; encoding: string };
    const u = used[i] as { user: number; system: number };
    const userMsPerScrape = (u.user * 1000) / s.length;
    const systemMsPerScrape = (u.system * 1000) / s.length;
    const cpuMsPerScrape = userMsPerScrape + systemMsPerScrape;
    const summary = summarize(s);
    out.set(l.variant, {
      ...summary,
      p90: percentile(s, 90),
      samples: s,
      bytes: median(sizes.get(l.variant) as number[]),
      textBytes: t.textBytes,
      contentEncoding: t.encoding,
      cpuMsPerScrape,
      userMsPerScrape,
      systemMsPerScrape,
      msPerMiB: summary.median / (t.textBytes / MiB),
      cpuMsPerMiB: cpuMsPerScrape / (t.textBytes / MiB),
    });
  });
  const total = m1.total - m0.total;
  const exportersSeconds = used.reduce((a, u) => a + u.user + u.system, 0);
  const oursTicks = exportersSeconds * 100 + ((harness.user + harness.system) / 1e6) * 100;
  const cores = Math.max(1, (readFileSync('/proc/stat', 'utf8').match(/^cpu\d+ /gm) ?? []).length);
  return {
    series: out,
    load: {
      loadavgBefore: load0,
      loadavgAfter: load1,
      busyPercent: total > 0 ? ((m1.busy - m0.busy) / total) * 100 : Number.NaN,
      oursPercent: total > 0 ? (oursTicks / total) * 100 : Number.NaN,
      cores,
      retransSegs: retrans,
      harnessCpuMsPerScrape: (harness.user + harness.system) / 1000 / Math.max(1, config.scrapes * live.length),
    },
  };
}

function ratio(a: BaselineSeries, b: BaselineSeries): BaselineRatio {
  const paired = a.samples.map((v, i) => v / (b.samples[i] as number));
  const n = a.samples.length;
  const blocks: number[] = [];
  for (let k = 0; k < BLOCKS && n >= BLOCKS; k++) {
    const from = Math.floor((k * n) / BLOCKS);
    const to = Math.floor(((k + 1) * n) / BLOCKS);
    blocks.push(median(a.samples.slice(from, to)) / median(b.samples.slice(from, to)));
  }
  return {
    median: a.median / b.median,
    pairedMedian: median(paired),
    blocks,
    p90: a.p90 / b.p90,
    textBytes: a.textBytes / b.textBytes,
    wireBytes: a.bytes / b.bytes,
    perMiB: a.msPerMiB / b.msPerMiB,
    cpu: a.cpuMsPerScrape / b.cpuMsPerScrape,
    cpuPerMiB: a.cpuMsPerMiB / b.cpuMsPerMiB,
    ...(a.userMsPerScrape === undefined || b.userMsPerScrape === undefined ? {} : { user: a.userMsPerScrape / b.userMsPerScrape }),
    ...(a.systemMsPerScrape === undefined || b.systemMsPerScrape === undefined ? {} : { system: a.systemMsPerScrape / b.systemMsPerScrape }),
  };
}

async function main(config: ScrapeBaselineConfig): Promise<void> {
  const logs = join(config.outDir, 'logs', 'scrape-baseline');
  mkdirSync(logs, { recursive: true });
  const labSeconds = await buildLab(config.pairs);
  const interfaces = interfaceCount();
  log(`${config.pairs} pairs (${interfaces} interfaces) up in ${labSeconds.toFixed(1)} s`);
  const veths = 2 * config.pairs;
  const current: LaunchOptions = config.exporterMain !== undefined ? { main: config.exporterMain } : {};
  const plan: ReadonlyArray<{ variant: BaselineVariant; args: string[]; launch: LaunchOptions }> = [
    { variant: 'baseline', args: [], launch: { main: config.baselineMain } },
    { variant: 'current', args: [], launch: current },
    { variant: 'currentNoEthtool', args: ['--no-collector.ethtool'], launch: current },
  ];
  const live: Live[] = [];
  try {
    for (const p of plan) {
      const startedAt = monoMs();
      const running = await startOurs(PORTS[p.variant], join(logs, `${p.variant}.log`), p.args, config.exporterNodeOptions, undefined, p.launch);
      const client = new ScrapeClient(running.base);
      live.push({ variant: p.variant, running, client, args: p.args, main: p.launch.main ?? 'dist/src/main.js', startedAt, speedSamples: 0 });
      log(`${p.variant}: ready in ${running.readyMs.toFixed(0)} ms (${p.launch.main ?? "this checkout's dist/src/main.js"} ${p.args.join(' ')})`);
    }
    const settledMs = new Map<BaselineVariant, number>();
    for (const l of live) {
      if (l.variant === 'current') l.speedSamples = await waitForEthtool(l.client, veths, 120_000);
      else l.speedSamples = count(bodyText(await l.client.get('/metrics', PLAIN_HEADERS, true)), 'linkstate_speed_bytes');
    }
    // Everything idle before the first timed scrape: the ethtool replies re-render what they fill in.
    await waitQuiet(live.map((l) => l.running.pid), 500, 30_000);
    for (const l of live) settledMs.set(l.variant, monoMs() - l.startedAt);
    log(`settled: linkstate_speed_bytes ${live.map((l) => `${l.variant} ${l.speedSamples}`).join(', ')}`);
    // Unpinned, the scheduler moved the exporter being scraped, the harness and the idle exporters'
    // V8 threads between the cores mid-transfer: plain scrapes grew long tails in stretches of a run
    // and the median ratio moved from one run to the next; pinned, the tails went (bench/README.md).
    const pinning = await pinApart(live.map((l) => l.running.pid), allowedCpus(), log);
    log(pinning === null ? 'nothing pinned' : `pinned: the exporters on CPU ${pinning.exportersCpu}, the harness on CPU ${pinning.harnessCpu}`);

    const byHeaders = new Map<HeaderSet, Map<BaselineVariant, BaselineSeries>>();
    const load = {} as Record<HeaderSet, MachineLoad>;
    for (const h of HEADER_SETS) {
      const r = await series(live, h === 'plain' ? PLAIN_HEADERS : PROMETHEUS_HEADERS, config, interfaces);
      byHeaders.set(h, r.series);
      load[h] = r.load;
      log(
        `${h}: median / p90 ms ${live.map((l) => `${l.variant} ${r.series.get(l.variant)?.median.toFixed(2)} / ${r.series.get(l.variant)?.p90.toFixed(2)}`).join(', ')}; ` +
          `machine ${r.load.busyPercent.toFixed(0)} % busy (ours ${r.load.oursPercent.toFixed(0)} %), load ${r.load.loadavgBefore} → ${r.load.loadavgAfter}`,
      );
    }
    const get = (v: BaselineVariant, h: HeaderSet): BaselineSeries => byHeaders.get(h)?.get(v) as BaselineSeries;
    const exporters = {} as Record<BaselineVariant, BaselineExporter>;
    for (const l of live) {
      exporters[l.variant] = {
        args: l.args,
        main: l.main,
        readyMs: l.running.readyMs,
        speedSamples: l.speedSamples,
        settledMs: settledMs.get(l.variant) ?? Number.NaN,
        plain: get(l.variant, 'plain'),
        prometheus: get(l.variant, 'prometheus'),
        memory: memory(l.running.pid),
      };
    }
    const ratios = {} as Record<'current' | 'currentNoEthtool', Record<HeaderSet, BaselineRatio>>;
    for (const v of ['current', 'currentNoEthtool'] as const) {
      ratios[v] = { plain: ratio(get(v, 'plain'), get('baseline', 'plain')), prometheus: ratio(get(v, 'prometheus'), get('baseline', 'prometheus')) };
      log(
        `${v} ÷ baseline: median ${ratios[v].plain.median.toFixed(2)}x plain, ${ratios[v].prometheus.median.toFixed(2)}x gzip; ` +
          `body ${ratios[v].plain.textBytes.toFixed(2)}x; per MiB ${ratios[v].plain.perMiB.toFixed(2)}x / ${ratios[v].prometheus.perMiB.toFixed(2)}x; ` +
          `CPU ${ratios[v].plain.cpu.toFixed(2)}x / ${ratios[v].prometheus.cpu.toFixed(2)}x`,
      );
    }
    const result: ScrapeBaselineResult = {
      pairs: config.pairs,
      interfaces,
      labSeconds,
      scrapes: config.scrapes,
      warmups: config.warmups,
      baselineRevision: config.baselineRevision,
      baselineSubject: config.baselineSubject,
      exporters,
      ratios,
      load,
      pinning,
      durationSeconds: (Date.now() - T0) / 1000,
    };
    writeFileSync(join(config.outDir, 'scrape-baseline.json'), JSON.stringify(result, null, 1) + '\n');
  } finally {
    for (const l of live) {
      l.client.close();
      await l.running.stop();
    }
  }
}

runLabStep<ScrapeBaselineConfig>('scrape-baseline-run.js', main);
