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
import { ScrapeClient, bodyText, PLAIN_HEADERS } from '../lib/http.js';
import { kernelCounters, type Listener, type KernelCounters } from '../lib/listener.js';
import { cpuSeconds } from '../lib/proc.js';
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

export interface ConsumerCost {
  readonly messages: number;
  readonly enobufs: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPer100k: number;
}

async function health(client: ScrapeClient): Promise<{ messages: number; overruns: number }> {
  const text = bodyText(await client.get('/metrics', PLAIN_HEADERS, true));
  return {
    messages: sumSamples(text, 'linkstate_exporter_netlink_messages_total'),
    overruns: sumSamples(text, 'linkstate_exporter_netlink_overruns_total'),
  };
}

/** Waits until the CPU time of every pid stayed the same for quietMs; returns the readings. */
async function waitQuiet(pids: readonly number[], quietMs: number, maxMs: number): Promise<number[]> {
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
}

function equalToKernel(exported: Map<string, DeviceCounters>, kernel: Map<string, KernelCounters>): boolean {
  if (exported.size !== kernel.size) return false;
  for (const [device, k] of kernel) {
    const e = exported.get(device);
    if (e === undefined || e.changes !== k.changes || e.up !== k.up || e.down !== k.down) return false;
  }
  return true;
}

export async function measureStormExact(client: ScrapeClient, listenerBinary: string, flips: number, limitMs = 30_000): Promise<StormExact> {
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
  return {
    flips,
    wallSeconds: (tEnd - t0) / 1000,
    exactAfterMs,
    polls: pollCount,
    firstPollMs,
    overruns: h1.overruns - h0.overruns,
    devicesCompared: kernel?.size ?? 0,
  };
}
