// The namespaces lab (step `netns`), seen from inside the bench's lab network namespace (run.ts
// starts netns-run.js under `ip netns exec`, which gives it a mount namespace of its own whose
// mounts do not propagate back to the host). A tmpfs is mounted on /run/netns there, so that
// `ip netns add` / `ip netns del` and the exporter's discovery see only the bench's namespaces,
// never the host's or another run's.
//
// Layout, for N namespaces of L links each (P = N * L pairs):
//   lab:        lnkI (I < P), in LNK_GROUP, except the first lnk of min(N, 50) namespaces spread
//               evenly (every other one at N = 100), which are in NS_STORM_GROUP: one
//               `ip link set group NS_STORM_GROUP down|up` flips that many pairs, as many as the
//               sizes step's storm (STORM_PEERS) flips — more per request overruns the socket;
//   namespace K (nsb000 … ): peerI for I in [K*L, K*L + L), moved in from the lab, and lo; all up.
// Before the namespaces exist the same peers are all in the lab, with N/2 more pairs (padJ, padJp)
// so that the lab alone holds exactly as many links as lab + namespaces later: 2P + 1 + 2(N/2)
// = P + 1 + N(L + 1). That is the host-only run the namespaces run is compared with.
import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipBatch, run, LNK_GROUP, PEER_GROUP, STORM_PEERS } from './lab.js';
import { sleep } from './clock.js';

/** The lab ends flipped by the storm: one per namespace. */
export const NS_STORM_GROUP = 80;
/** The pad pairs of the host-only run (both ends). */
export const PAD_GROUP = 81;
const TMPFS_SOURCE = 'lsbench-netns';

export const nsName = (k: number): string => `nsb${String(k).padStart(3, '0')}`;
export const lnk = (i: number): string => `lnk${i}`;
export const peer = (i: number): string => `peer${i}`;

/** The mount at `path` in this process's mount table: the last line for it wins (the top of a stack). */
function topMount(path: string): { fstype: string; source: string } | undefined {
  let found: { fstype: string; source: string } | undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    if (left.split(' ')[4] !== path) continue;
    const [fstype, source] = right.split(' ');
    found = { fstype: fstype ?? '', source: source ?? '' };
  }
  return found;
}

/**
 * Mounts a tmpfs of our own on /run/netns. Refuses when this process shares the mount namespace of its parent (run.js)
 * (the mount would hide the host's namespaces from everyone else) or when the mount did not take.
 */
export async function privateRunNetns(): Promise<void> {
  const { readlinkSync } = await import('node:fs');
  if (readlinkSync('/proc/self/ns/mnt') === readlinkSync(`/proc/${process.ppid}/ns/mnt`)) {
    throw new Error('netns lab: not in a mount namespace of its own (run under `ip netns exec`, as run.ts does)');
  }
  mkdirSync('/run/netns', { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=755', TMPFS_SOURCE, '/run/netns']);
  const top = topMount('/run/netns');
  if (top?.fstype !== 'tmpfs' || top.source !== TMPFS_SOURCE) throw new Error(`netns lab: /run/netns is ${JSON.stringify(top)}, not our tmpfs`);
  if (readdirSync('/run/netns').length !== 0) throw new Error('netns lab: the fresh /run/netns is not empty');
}

export interface NetnsLabShape {
  readonly namespaces: number;
  readonly linksPerNamespace: number;
}

export const nsPairs = (s: NetnsLabShape): number => s.namespaces * s.linksPerNamespace;
/** Pairs flipped per storm request: one in each of min(N, STORM_PEERS) namespaces. */
export const stormPairs = (s: NetnsLabShape): number => Math.min(s.namespaces, STORM_PEERS);
/** The namespaces whose first pair the storm flips, spread evenly over all N. */
export function stormNamespaces(s: NetnsLabShape): Set<number> {
  const n = stormPairs(s);
  return new Set(Array.from({ length: n }, (_, j) => Math.floor((j * s.namespaces) / n)));
}
export const padPairs = (s: NetnsLabShape): number => s.namespaces >> 1;
/** Interfaces exported in either run: lab lnks + lab lo + each namespace's peers and lo (+1 pad dummy when N is odd). */
export const expectedInterfaces = (s: NetnsLabShape): number => nsPairs(s) + 1 + s.namespaces * (s.linksPerNamespace + 1);

/** Waits until every veth (and pad link) in the lab has operstate up. */
async function settleLab(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let notUp = 0;
    for (const dev of readdirSync('/sys/class/net')) {
      if (dev === 'lo') continue;
      try {
        if (readFileSync(`/sys/class/net/${dev}/operstate`, 'utf8').trim() !== 'up') notUp++;
      } catch {
        notUp++;
      }
    }
    if (notUp === 0) return;
    if (Date.now() > deadline) throw new Error(`netns lab: ${notUp} links not operationally up after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** The host-only lab: IPv6 off, lo up, P + N/2 pairs (+ one dummy when N is odd), all up and operationally up. Seconds taken. */
export async function buildHostLab(s: NetnsLabShape): Promise<number> {
  const t0 = Date.now();
  await run('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await run('ip', ['link', 'set', 'lo', 'up']);
  const lines: string[] = [];
  const storm = stormNamespaces(s);
  for (let i = 0; i < nsPairs(s); i++) {
    const group = i % s.linksPerNamespace === 0 && storm.has(i / s.linksPerNamespace) ? NS_STORM_GROUP : LNK_GROUP;
    lines.push(`link add ${lnk(i)} group ${group} type veth peer name ${peer(i)} group ${PEER_GROUP}`);
  }
  for (let j = 0; j < padPairs(s); j++) lines.push(`link add pad${j} group ${PAD_GROUP} type veth peer name pad${j}p group ${PAD_GROUP}`);
  if (s.namespaces % 2 === 1) lines.push(`link add padodd group ${PAD_GROUP} type dummy`);
  await ipBatch(lines);
  await ipBatch([`link set group ${LNK_GROUP} up`, `link set group ${NS_STORM_GROUP} up`, `link set group ${PEER_GROUP} up`, `link set group ${PAD_GROUP} up`]);
  await settleLab(300_000);
  return (Date.now() - t0) / 1000;
}

/**
 * From the host-only lab to the namespaces lab: the pad links deleted, N namespaces made
 * (`ip netns add`, IPv6 off in each before any link arrives, lo up), the peers moved in L per
 * namespace and set up, everything operationally up. Seconds taken.
 */
export async function moveIntoNamespaces(s: NetnsLabShape): Promise<number> {
  const t0 = Date.now();
  const dir = join(tmpdir(), `lsbench-netns-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const upFile = join(dir, 'up.batch');
  writeFileSync(upFile, `link set lo up\nlink set group ${PEER_GROUP} up\n`);
  try {
    await ipBatch([`link del group ${PAD_GROUP}`]);
    const names = Array.from({ length: s.namespaces }, (_, k) => nsName(k));
    await ipBatch(names.map((n) => `netns add ${n}`));
    // `netns exec` in a batch forks one child per line (and mounts that namespace's /sys for it).
    await ipBatch(names.map((n) => `netns exec ${n} sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1`));
    const moves: string[] = [];
    for (let i = 0; i < nsPairs(s); i++) moves.push(`link set ${peer(i)} netns ${nsName(Math.floor(i / s.linksPerNamespace))}`);
    await ipBatch(moves);
    await ipBatch(names.map((n) => `netns exec ${n} ip -batch ${upFile}`));
    await settleLab(300_000);
    await settleNamespaces(s, 300_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return (Date.now() - t0) / 1000;
}

/** `ip -all netns exec CMD…` over the bench's own /run/netns: each namespace's output after a `netns: NAME` line. */
export async function perNamespace(script: string): Promise<Map<string, string[]>> {
  const out = await run('ip', ['-all', 'netns', 'exec', 'sh', '-c', script]);
  const result = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of out.split('\n')) {
    const m = /^netns: (\S+)$/.exec(line);
    if (m) {
      current = [];
      result.set(m[1] as string, current);
    } else if (line !== '' && current !== undefined) {
      current.push(line);
    }
  }
  return result;
}

async function settleNamespaces(s: NetnsLabShape, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await perNamespace('for d in /sys/class/net/peer*; do echo "${d##*/} $(cat $d/operstate)"; done');
    let notUp = 0;
    let seen = 0;
    for (const lines of states.values()) {
      for (const line of lines) {
        seen++;
        if (!line.endsWith(' up')) notUp++;
      }
    }
    if (states.size !== s.namespaces) throw new Error(`netns lab: ${states.size} namespaces under /run/netns, expected ${s.namespaces}`);
    if (seen === nsPairs(s) && notUp === 0) return;
    if (Date.now() > deadline) throw new Error(`netns lab: ${notUp} of ${seen} peers not operationally up after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** Deletes the bench's namespaces by name (never `-all`). */
export async function deleteNamespaces(s: NetnsLabShape): Promise<void> {
  await ipBatch(Array.from({ length: s.namespaces }, (_, k) => `netns del ${nsName(k)}`)).catch(() => undefined);
}

/** The storm: `flips` times the storm lnks (stormPairs of them, each paired into its own namespace) down, then up. */
export function nsStormLines(flips: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < flips; i++) lines.push(`link set group ${NS_STORM_GROUP} down`, `link set group ${NS_STORM_GROUP} up`);
  return lines;
}

/** `netns/device` → carrier_changes, from the lab's sysfs and, with `inNamespaces`, every namespace's. '' is the lab. */
export async function kernelCarrierChanges(inNamespaces: boolean): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const dev of readdirSync('/sys/class/net')) {
    out.set(`/${dev}`, Number(readFileSync(`/sys/class/net/${dev}/carrier_changes`, 'utf8').trim()));
  }
  if (inNamespaces) {
    for (const [ns, lines] of await perNamespace('for d in /sys/class/net/*; do echo "${d##*/} $(cat $d/carrier_changes)"; done')) {
      for (const line of lines) {
        const [dev, n] = line.split(' ');
        out.set(`${ns}/${dev}`, Number(n));
      }
    }
  }
  return out;
}

const CHANGES_LINE = /^linkstate_carrier_changes_total\{([^}]*)\} (\d+)$/gm;

/** `netns/device` → linkstate_carrier_changes_total as exported ('' for the exporter's own namespace). */
export function exportedCarrierChanges(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(CHANGES_LINE)) {
    const labels = m[1] as string;
    const device = /(?:^|,)device="([^"]*)"/.exec(labels)?.[1];
    const netns = /(?:^|,)netns="([^"]*)"/.exec(labels)?.[1] ?? '';
    if (device !== undefined) out.set(`${netns}/${device}`, Number(m[2]));
  }
  return out;
}

/** Keys whose counts differ (or that one side lacks), at most `limit`. */
export function differences(exported: Map<string, number>, kernel: Map<string, number>, limit = 5): string[] {
  const out: string[] = [];
  for (const [key, k] of kernel) {
    const e = exported.get(key);
    if (e !== k) out.push(`${key}: exported ${e ?? 'nothing'}, kernel ${k}`);
    if (out.length >= limit) return out;
  }
  for (const key of exported.keys()) {
    if (!kernel.has(key)) out.push(`${key}: exported, not in the kernel`);
    if (out.length >= limit) break;
  }
  return out;
}
