// Flap storms at the fastest rate the lab produces: one `ip -batch` flipping STORM_PEERS peers per
// request (each flip changes the peer's and its lnk's carrier, so the kernel sends ~4 RTM_NEWLINK
// per flipped pair and flip).
//
// measureStormCost: nobody scrapes during the storm; CPU time (utime + stime) of the exporter and
// of the C listener, from just before the storm until both have been idle for half a second,
// against the messages each received (the exporter's linkstate_exporter_netlink_messages_total,
// the listener's own count), and the ENOBUFS overruns each saw.
//
// measureStormExact: a second storm; from the moment `ip -batch` exits (the kernel's counters are
// final then: veth updates them synchronously), /metrics is scraped back to back and compared with
// the kernel's counters from a link dump; the time reported is from the storm's end to the end of
// the first response in which every device's three carrier counters equal the kernel's.
import { ipBatch, stormLines, STORM_PEERS } from '../lib/lab.js';
import type { ChildProcess } from 'node:child_process';
import { eventsSince, type MemoryCgroup, type MemoryEvents } from '../../test/helpers/cgroup.js';
import { ScrapeClient, bodyText, PLAIN_HEADERS, PROMETHEUS_HEADERS } from '../lib/http.js';
import { kernelCounters, type Listener, type KernelCounters } from '../lib/listener.js';
import { cpuSeconds, memory, resetPeakRss, RssSampler } from '../lib/proc.js';
import { monoMs, sleep } from '../lib/clock.js';
import { deviceCounters, sumSamples, type DeviceCounters } from '../lib/exposition.js';

export interface StormCost {
  readonly flips: number;
  readonly requests: number;
  readonly peersPerRequest: number;
  readonly wallSeconds: number;
  /** messages the C listener received per second of storm */
  readonly messagesPerSecond: number;
  readonly ours: ConsumerCost;
  readonly listener: ConsumerCost;
  /** ours' CPU per message over the listener's */
  readonly cpuRatio: number;
}

/**
 * The exporter's CPU per 100k notifications the kernel sent in the storm (as the C listener
 * counted them), s: the storm's CPU, whatever share of it the exporter received. Per message
 * received, a storm with more overruns looks dearer twice over: it did the resyncs' work and
 * counted fewer messages (the notifications the kernel dropped, and those superseded).
 */
export function cpuPerKernel100k(c: StormCost): number {
  return c.listener.messages > 0 ? (c.ours.cpuSeconds / c.listener.messages) * 100_000 : Number.NaN;
}

export interface ConsumerCost {
  readonly messages: number;
  readonly enobufs: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPer100k: number;
}

export async function health(client: ScrapeClient): Promise<{ messages: number; overruns: number }> {
  const text = bodyText(await client.get('/metrics', PLAIN_HEADERS, true));
  return {
    messages: sumSamples(text, 'linkstate_exporter_netlink_messages_total'),
    overruns: sumSamples(text, 'linkstate_exporter_netlink_overruns_total'),
  };
}

/** Waits until the CPU time of every pid stayed the same for quietMs; returns the readings. */
export async function waitQuiet(pids: readonly number[], quietMs: number, maxMs: number): Promise<number[]> {
  let last = pids.map(cpuSeconds);
  let quietSince = monoMs();
  const deadline = monoMs() + maxMs;
  while (monoMs() - quietSince < quietMs && monoMs() < deadline) {
    await sleep(50);
    const now = pids.map(cpuSeconds);
    if (now.some((v, i) => v !== last[i])) quietSince = monoMs();
    last = now;
  }
  return last;
}

export async function measureStormCost(client: ScrapeClient, oursPid: number, listener: Listener, flips: number): Promise<StormCost> {
  const h0 = await health(client);
  const l0 = await listener.stats();
  const [o0, c0] = (await waitQuiet([oursPid, listener.pid], 300, 5_000)) as [number, number];
  const t0 = monoMs();
  await ipBatch(stormLines(flips));
  const wallSeconds = (monoMs() - t0) / 1000;
  const [o1, c1] = (await waitQuiet([oursPid, listener.pid], 500, 30_000)) as [number, number];
  const h1 = await health(client);
  const l1 = await listener.stats();
  const cost = (messages: number, enobufs: number, cpu: number): ConsumerCost => ({
    messages,
    enobufs,
    cpuSeconds: cpu,
    cpuSecondsPer100k: messages > 0 ? (cpu / messages) * 100_000 : Number.NaN,
  });
  const ours = cost(h1.messages - h0.messages, h1.overruns - h0.overruns, o1 - o0);
  const c = cost(l1.links - l0.links, l1.enobufs - l0.enobufs, c1 - c0);
  return {
    flips,
    requests: flips * 2,
    peersPerRequest: STORM_PEERS,
    wallSeconds,
    messagesPerSecond: c.messages / wallSeconds,
    ours,
    listener: c,
    cpuRatio: ours.cpuSecondsPer100k / c.cpuSecondsPer100k,
  };
}

export interface StormExact {
  readonly flips: number;
  readonly wallSeconds: number;
  /** ms from the storm's end to the end of the first exact response; NaN if never within the limit */
  readonly exactAfterMs: number;
  readonly polls: number;
  /** duration of the first poll after the storm, ms */
  readonly firstPollMs: number;
  readonly overruns: number;
  readonly devicesCompared: number;
  /**
   * ms from the storm's end until the C listener (running throughout, its own 8 MiB buffer) had
   * read its last link notification: how long the kernel itself went on announcing the storm's
   * changes (its linkwatch work trails the requests). NaN without a listener.
   */
  readonly kernelLastMs: number;
}

export function equalToKernel(exported: Map<string, DeviceCounters>, kernel: Map<string, KernelCounters>): boolean {
  if (exported.size !== kernel.size) return false;
  for (const [device, k] of kernel) {
    const e = exported.get(device);
    if (e === undefined || e.changes !== k.changes || e.up !== k.up || e.down !== k.down) return false;
  }
  return true;
}

export async function measureStormExact(
  client: ScrapeClient,
  listenerBinary: string,
  flips: number,
  listener?: Listener,
  limitMs = 30_000,
): Promise<StormExact> {
  const h0 = await health(client);
  const t0 = monoMs();
  await ipBatch(stormLines(flips));
  const tEnd = monoMs();
  let kernel: Map<string, KernelCounters> | undefined;
  const kernelRead = kernelCounters(listenerBinary).then((k) => (kernel = k));
  const polls: Array<{ endMs: number; counters: Map<string, DeviceCounters> }> = [];
  let exactAfterMs = Number.NaN;
  let firstPollMs = Number.NaN;
  let pollCount = 0;
  search: while (monoMs() - tEnd < limitMs) {
    const r = await client.get('/metrics', PLAIN_HEADERS, true);
    if (pollCount++ === 0) firstPollMs = r.ms;
    polls.push({ endMs: r.endMs, counters: deviceCounters(bodyText(r)) });
    if (kernel === undefined) continue;
    for (const p of polls.splice(0)) {
      if (equalToKernel(p.counters, kernel)) {
        exactAfterMs = p.endMs - tEnd;
        break search;
      }
    }
  }
  await kernelRead;
  const h1 = await health(client);
  const kernelLastMs = listener === undefined ? Number.NaN : (await listener.stats()).lastLinkMs - tEnd;
  return {
    flips,
    wallSeconds: (tEnd - t0) / 1000,
    exactAfterMs,
    kernelLastMs,
    polls: pollCount,
    firstPollMs,
    overruns: h1.overruns - h0.overruns,
    devicesCompared: kernel?.size ?? 0,
  };
}

// measureStormMemory: the storm as an operator sees it: scraped once a second (Prometheus's
// headers) from its start until the counters equal the kernel's, RSS read every 50 ms (VmHWM
// reset first through /proc/PID/clear_refs, so that a peak between two readings counts too).
// Optionally inside a memory cgroup (the memory-capped storm): its usage is sampled as well, and
// its limit hits, OOM events and OOM kills over the storm are counted.

export interface ScrapesDuring {
  readonly n: number;
  /** non-200 answers, errors and timeouts */
  readonly failed: number;
  readonly maxMs: number;
  readonly medianMs: number;
  /** the first failure, if any */
  readonly firstFailure?: string;
}

export interface CgroupFigures {
  readonly version: 1 | 2;
  readonly limitBytes: number;
  readonly usageBeforeBytes: number;
  /** highest usage sampled, or the kernel's own peak (v1 max_usage_in_bytes, v2 memory.peak) over the cgroup's life, whichever is higher */
  readonly peakUsageBytes: number;
  /** over the storm: limit hits (v1 failcnt, v2 max), OOM events (v2 oom; v1 under_oom), OOM kills */
  readonly events: MemoryEvents;
}

export interface StormMemory {
  readonly flips: number;
  readonly requests: number;
  readonly wallSeconds: number;
  /** VmRSS just before the storm, bytes */
  readonly preRss: number;
  /** highest RSS from the storm's start until the exporter was idle again (or gone), bytes */
  readonly peakRss: number;
  readonly peakRatio: number;
  /** whether VmHWM could be reset, so the peak includes what happened between readings */
  readonly hwmReset: boolean;
  readonly rssSamples: number;
  /** VmRSS once idle after the storm */
  readonly rssAfter?: number;
  readonly scrapes: ScrapesDuring;
  /** the process still runs after the storm */
  readonly survived: boolean;
  /** how it ended, when it did not survive */
  readonly exit?: string;
  readonly exact: boolean;
  /** ms from the storm's end to the end of the first exact response (polled every 100 ms); NaN if never */
  readonly exactAfterMs: number;
  readonly messages: number;
  readonly overruns: number;
  /** CPU seconds from just before the storm until idle */
  readonly cpuSeconds: number;
  readonly cgroup?: CgroupFigures;
}

export interface StormMemoryOptions {
  readonly base: string;
  readonly child: ChildProcess;
  readonly listenerBinary: string;
  readonly flips: number;
  readonly scrapeEveryMs: number;
  readonly scrapeTimeoutMs: number;
  readonly cgroup?: MemoryCgroup;
}

const alive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

export async function measureStormMemory(o: StormMemoryOptions): Promise<StormMemory> {
  const pid = o.child.pid as number;
  const client = new ScrapeClient(o.base);
  const h0 = await health(client);
  await waitQuiet([pid], 300, 5_000);
  const events0 = o.cgroup?.events();
  const usageBeforeBytes = o.cgroup?.usage().currentBytes ?? 0;
  let peakUsage = usageBeforeBytes;
  const usageTimer = o.cgroup
    ? setInterval(() => {
        try {
          peakUsage = Math.max(peakUsage, (o.cgroup as MemoryCgroup).usage().currentBytes);
        } catch {
          // cgroup gone
        }
      }, 50)
    : undefined;
  const preRss = memory(pid).rss;
  const hwmReset = resetPeakRss(pid);
  const sampler = new RssSampler(pid, 50, hwmReset);
  const cpu0 = cpuSeconds(pid);

  // Once a second, like Prometheus, on its own keep-alive connection.
  let scraping = true;
  const scrapeMs: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const scraperClient = new ScrapeClient(o.base);
  const scraper = (async () => {
    while (scraping) {
      const s0 = monoMs();
      try {
        const r = await scraperClient.get('/metrics', PROMETHEUS_HEADERS, false, o.scrapeTimeoutMs);
        scrapeMs.push(r.ms);
        if (r.status !== 200) {
          failed++;
          firstFailure ??= `status ${r.status}`;
        }
      } catch (error) {
        scrapeMs.push(monoMs() - s0);
        failed++;
        firstFailure ??= error instanceof Error ? error.message : String(error);
        scraperClient.close(); // a timed-out request leaves its connection unusable
      }
      const wait = o.scrapeEveryMs - (monoMs() - s0);
      if (wait > 0) await sleep(wait);
    }
  })();

  const t0 = monoMs();
  await ipBatch(stormLines(o.flips));
  const tEnd = monoMs();
  const kernel = await kernelCounters(o.listenerBinary);
  let exactAfterMs = Number.NaN;
  while (alive(o.child) && monoMs() - tEnd < 30_000) {
    try {
      const r = await client.get('/metrics', PLAIN_HEADERS, true, o.scrapeTimeoutMs);
      if (r.status === 200 && equalToKernel(deviceCounters(bodyText(r)), kernel)) {
        exactAfterMs = r.endMs - tEnd;
        break;
      }
    } catch {
      client.close();
    }
    await sleep(100);
  }
  // Scraped until exact; then left alone until idle (a scrape a second would keep it busy).
  scraping = false;
  await scraper;
  scraperClient.close();
  let cpu1 = cpu0;
  if (alive(o.child)) {
    try {
      [cpu1] = (await waitQuiet([pid], 500, 30_000)) as [number];
    } catch {
      // ended meanwhile
    }
  }
  const rss = sampler.stop();
  if (usageTimer) clearInterval(usageTimer);
  const survived = alive(o.child);
  let h1 = h0;
  let rssAfter: number | undefined;
  if (survived) {
    h1 = await health(client);
    rssAfter = memory(pid).rss;
  }
  client.close();
  let cgroup: CgroupFigures | undefined;
  if (o.cgroup && events0) {
    const usage = o.cgroup.usage();
    cgroup = {
      version: o.cgroup.version,
      limitBytes: o.cgroup.limitBytes,
      usageBeforeBytes,
      peakUsageBytes: Math.max(peakUsage, usage.peakBytes ?? 0),
      events: eventsSince(events0, o.cgroup.events()),
    };
  }
  const sorted = [...scrapeMs].sort((a, b) => a - b);
  return {
    flips: o.flips,
    requests: o.flips * 2,
    wallSeconds: (tEnd - t0) / 1000,
    preRss,
    peakRss: rss.peakRss,
    peakRatio: rss.peakRss / preRss,
    hwmReset,
    rssSamples: rss.samples,
    ...(rssAfter !== undefined ? { rssAfter } : {}),
    scrapes: {
      n: scrapeMs.length,
      failed,
      maxMs: sorted[sorted.length - 1] ?? Number.NaN,
      medianMs: sorted.length === 0 ? Number.NaN : ((sorted[(sorted.length - 1) >> 1] as number) + (sorted[sorted.length >> 1] as number)) / 2,
      ...(firstFailure !== undefined ? { firstFailure } : {}),
    },
    survived,
    ...(survived ? {} : { exit: `${o.child.exitCode ?? o.child.signalCode}` }),
    exact: !Number.isNaN(exactAfterMs),
    exactAfterMs,
    messages: h1.messages - h0.messages,
    overruns: h1.overruns - h0.overruns,
    cpuSeconds: cpu1 - cpu0,
    ...(cgroup ? { cgroup } : {}),
  };
}
