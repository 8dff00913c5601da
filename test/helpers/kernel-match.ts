// Comparing what the exporter exports with what the kernel counts, for the fault, churn and soak
// runs: per-device counters against sysfs, counters that must never go backwards, process
// memory from /proc, and the fd of an in-process netlink socket.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { byDevice, type Sample } from './exposition.js';
import { eventually } from './exporter.js';
import { parseKernelCounters, type KernelLinkCounters, type Netns } from './netns.js';

/** The kernel-backed counter families: they follow the kernel's own counts, restart or not. */
export const KERNEL_COUNTERS = [
  'linkstate_carrier_changes_total',
  'linkstate_carrier_up_changes_total',
  'linkstate_carrier_down_changes_total',
] as const;

/**
 * Differences between the exported per-device counters and carrier gauge and the kernel's;
 * empty when they agree exactly, on exactly the same set of devices.
 */
export function kernelMismatches(samples: readonly Sample[], kernel: ReadonlyMap<string, KernelLinkCounters>): string[] {
  const carrier = byDevice(samples, 'linkstate_carrier');
  const changes = byDevice(samples, 'linkstate_carrier_changes_total');
  const up = byDevice(samples, 'linkstate_carrier_up_changes_total');
  const down = byDevice(samples, 'linkstate_carrier_down_changes_total');
  const out: string[] = [];
  for (const [device, k] of kernel) {
    const want = { changes: k.carrierChanges, up: k.up, down: k.down };
    const got = { changes: changes.get(device), up: up.get(device), down: down.get(device) };
    if (got.changes !== want.changes || got.up !== want.up || got.down !== want.down) {
      out.push(`${device}: counters ${JSON.stringify(got)} != kernel ${JSON.stringify(want)}`);
    }
    // sysfs refuses `carrier` of an admin-down device; the exporter reports IFLA_CARRIER (0 there)
    const kernelCarrier = k.carrier ?? 0;
    if (carrier.get(device) !== kernelCarrier) out.push(`${device}: carrier ${carrier.get(device)} != kernel ${kernelCarrier}`);
  }
  for (const device of new Set(samples.flatMap((s) => (s.labels['device'] === undefined ? [] : [s.labels['device']])))) {
    if (!kernel.has(device)) out.push(`${device}: exported but not in the kernel`);
  }
  return out;
}

/** Scrapes until every exported counter and carrier gauge equals the kernel's; the last scrape. */
export async function expectExact(ns: Netns, scrape: () => Promise<Sample[]>, timeoutMs = 15_000): Promise<Sample[]> {
  let last: string[] = [];
  return eventually(
    'exported counters to equal the kernel counters',
    async () => {
      const samples = await scrape();
      last = kernelMismatches(samples, await readKernelCounters(ns));
      if (last.length > 0) throw new Error(last.slice(0, 5).join('; '));
      return samples;
    },
    timeoutMs,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${last.join('\n')}`);
  });
}

/**
 * Remembers the highest value seen per (family, device) across scrapes, from any number of
 * exporter processes, and reports every sample that is lower than one seen before.
 */
export class MonotonicCheck {
  readonly #highest = new Map<string, number>();
  readonly violations: string[] = [];
  /** Samples checked so far. */
  checked = 0;

  observe(samples: readonly Sample[], origin: string): void {
    for (const family of KERNEL_COUNTERS) {
      for (const [device, value] of byDevice(samples, family)) {
        const key = `${family}{device="${device}"}`;
        const before = this.#highest.get(key);
        this.checked += 1;
        if (before !== undefined && value < before) this.violations.push(`${key} went from ${before} to ${value} (${origin})`);
        if (before === undefined || value > before) this.#highest.set(key, value);
      }
    }
  }

  /** Highest value seen of a family for a device. */
  highest(family: (typeof KERNEL_COUNTERS)[number], device: string): number | undefined {
    return this.#highest.get(`${family}{device="${device}"}`);
  }
}

export interface ProcessMemory {
  /** VmRSS */
  readonly rssBytes: number;
  /** VmHWM: the peak RSS of the process so far. */
  readonly peakRssBytes: number;
}

/** RSS and peak RSS of a process, from /proc/PID/status. */
export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

export interface NetlinkSocketInfo {
  /** netlink protocol (NETLINK_ROUTE 0, NETLINK_GENERIC 16, ...) */
  readonly protocol: number;
  readonly portId: number;
  /** the legacy nl_groups bitmask it is subscribed to (RTMGRP_LINK = 1) */
  readonly groups: number;
}

/** The netlink sockets process `pid` holds, from its fds and /proc/PID/net/netlink (its namespace). */
export function netlinkSocketsOf(pid: number): NetlinkSocketInfo[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1] as string);
    } catch {
      // fd closed meanwhile
    }
  }
  const sockets: NetlinkSocketInfo[] = [];
  for (const line of readFileSync(`/proc/${pid}/net/netlink`, 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    if (cols.length < 10 || !inodes.has(cols[9] as string)) continue;
    sockets.push({ protocol: Number(cols[1]), portId: Number(cols[2]), groups: Number.parseInt(cols[3] as string, 16) });
  }
  return sockets;
}

/**
 * The port id of the exporter's link-event socket: its NETLINK_ROUTE socket subscribed to
 * RTMGRP_LINK (the request sockets of the namespace discovery have no groups).
 */
export function linkSocketPortId(pid: number): number {
  const found = netlinkSocketsOf(pid).filter((s) => s.protocol === 0 && (s.groups & 1) !== 0);
  if (found.length !== 1) throw new Error(`expected one RTMGRP_LINK socket of pid ${pid}, found ${found.length}`);
  return (found[0] as NetlinkSocketInfo).portId;
}

/**
 * The fd number of this process's NETLINK_ROUTE socket bound to `portId`, found through
 * /proc/self/fd and the calling thread's /proc/thread-self/net/netlink (the namespace the
 * socket lives in when the thread entered one).
 */
export function netlinkSocketFd(portId: number): number {
  const fdByInode = new Map<string, number>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) fdByInode.set(m[1] as string, Number(fd));
    } catch {
      // closed meanwhile (the fd readdir itself used, for one)
    }
  }
  for (const line of readFileSync('/proc/thread-self/net/netlink', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    if (cols.length < 10 || cols[1] !== '0' || Number(cols[2]) !== portId) continue;
    const fd = fdByInode.get(cols[9] as string);
    if (fd !== undefined) return fd;
  }
  throw new Error(`no NETLINK_ROUTE socket with port id ${portId} in this process`);
}

// Netns.kernelCounters' output, made with shell builtins only: no process per file, so reading
// thousands of devices takes a fraction of a second instead of seconds.
export const SYSFS_BUILTINS_SCRIPT = [
  'cd /sys/class/net || exit 1',
  'for n in *; do',
  '  read -r c < "$n/carrier" 2>/dev/null || c=-',
  '  read -r ch < "$n/carrier_changes" && read -r u < "$n/carrier_up_count" && read -r d < "$n/carrier_down_count" &&',
  '    read -r o < "$n/operstate" && read -r f < "$n/flags" || continue',
  '  printf "%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n" "$n" "$c" "$ch" "$u" "$d" "$o" "$f"',
  'done',
].join('\n');

/** The kernel's counters of every device of the namespace, like Netns.kernelCounters(), faster. */
export async function readKernelCounters(ns: Netns): Promise<Map<string, KernelLinkCounters>> {
  return parseKernelCounters(await ns.run('sh', ['-c', SYSFS_BUILTINS_SCRIPT]));
}

/** Switches IPv6 off in a namespace: with it on, every link change walks the IPv6 routes. */
export const DISABLE_IPV6 = ['-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'] as const;

export function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
