// Throwaway memory cgroups (root only), for running the exporter under a memory limit exactly as a
// container runtime would: a child of the calling process's own cgroup on the cgroup v1 memory
// hierarchy (memory.limit_in_bytes, and memory.memsw.limit_in_bytes where swap is accounted), or
// on cgroup v2 a child of the nearest ancestor that delegates the memory controller (memory.max,
// memory.swap.max = 0). A process is put in it from its first instruction by wrap(): a shell
// writes its own pid to cgroup.procs and then execs the command, so everything it ever allocates
// is charged to the cgroup. Also: the DaemonSet's memory limit, parsed from the shipped manifest,
// so that the test and the bench never restate the number.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export type CgroupVersion = 1 | 2;

/** Counters the kernel keeps for a memory cgroup (cumulative since it was made). */
export interface MemoryEvents {
  /** Charges that hit the limit (v1 memory.failcnt + memory.memsw.failcnt; v2 memory.events max). */
  readonly limitHits: number;
  /** OOM conditions (v1: under_oom now, 0 or 1, v1 keeps no count; v2 memory.events oom). */
  readonly oom: number;
  /** Processes the OOM killer killed in the cgroup (v1 memory.oom_control oom_kill; v2 memory.events oom_kill). */
  readonly oomKills: number;
}

export interface MemoryUsage {
  /** v1 memory.usage_in_bytes, v2 memory.current */
  readonly currentBytes: number;
  /** v1 memory.max_usage_in_bytes, v2 memory.peak (kernel >= 5.19); undefined when the kernel has none */
  readonly peakBytes: number | undefined;
}

export interface MemoryCgroup {
  readonly version: CgroupVersion;
  /** The cgroup's directory. */
  readonly path: string;
  readonly limitBytes: number;
  /** [cmd, args] that run cmd args inside the cgroup from its first instruction (exec keeps the pid). */
  wrap(cmd: string, args: readonly string[]): [string, string[]];
  events(): MemoryEvents;
  usage(): MemoryUsage;
  /** Pids in the cgroup now. */
  pids(): number[];
  /** SIGKILLs whatever is still in the cgroup and removes it; idempotent. */
  destroy(): Promise<void>;
}

interface Mount {
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: string[];
}

/** The cgroup mounts of /proc/self/mountinfo (fields: id parent dev root mountpoint opts ... - fstype source superopts). */
export function parseCgroupMounts(mountinfo: string): Mount[] {
  const out: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fsType = right[0] ?? '';
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    out.push({ root: unescape(left[3] ?? '/'), mountPoint: unescape(left[4] ?? ''), fsType, superOptions: (right[2] ?? '').split(',') });
  }
  return out;
}

/** The path of this process's cgroup from /proc/self/cgroup: v1 the line naming `controller`, v2 the `0::` line. */
export function ownCgroupPath(procSelfCgroup: string, version: CgroupVersion, controller = 'memory'): string | undefined {
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (version === 2 && m[1] === '0' && m[2] === '') return m[3];
    if (version === 1 && (m[2] as string).split(',').includes(controller)) return m[3];
  }
  return undefined;
}

/** The directory of a cgroup path under a mount whose root may itself be a sub-cgroup (bind-mounted). */
function dirOf(mount: Mount, cgroupPath: string): string {
  const relative = mount.root !== '/' && cgroupPath.startsWith(mount.root) ? cgroupPath.slice(mount.root.length) : cgroupPath;
  return join(mount.mountPoint, relative);
}

const readText = (path: string): string => readFileSync(path, 'utf8');
const readNumber = (path: string): number => Number(readText(path).trim());

/** Where a memory cgroup can be made: [version, parent directory], or why none can. */
export function findMemoryParent(): { version: CgroupVersion; parent: string } | { error: string } {
  let mounts: Mount[];
  let self: string;
  try {
    mounts = parseCgroupMounts(readText('/proc/self/mountinfo'));
    self = readText('/proc/self/cgroup');
  } catch (error) {
    return { error: `cannot read /proc/self/mountinfo or /proc/self/cgroup: ${(error as Error).message}` };
  }
  // v1 first: a controller bound to a v1 hierarchy is not available on the unified one.
  const v1 = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  if (v1 !== undefined) {
    const own = ownCgroupPath(self, 1);
    if (own === undefined) return { error: 'cgroup v1 memory hierarchy mounted but /proc/self/cgroup names no memory cgroup' };
    const parent = dirOf(v1, own);
    if (!existsSync(join(parent, 'memory.limit_in_bytes'))) return { error: `no memory.limit_in_bytes in ${parent}` };
    return { version: 1, parent };
  }
  const v2 = mounts.find((m) => m.fsType === 'cgroup2');
  if (v2 === undefined) return { error: 'no cgroup v1 memory hierarchy and no cgroup2 mount' };
  const own = ownCgroupPath(self, 2);
  if (own === undefined) return { error: 'cgroup2 mounted but /proc/self/cgroup has no 0:: line' };
  // A v2 cgroup with processes cannot delegate controllers (no internal processes), so the child
  // goes under the nearest ancestor (own cgroup included: it may be the root) that enables memory
  // for its children.
  for (let dir = dirOf(v2, own); dir.startsWith(v2.mountPoint); dir = dirname(dir)) {
    try {
      if (readText(join(dir, 'cgroup.subtree_control')).split(/\s+/).includes('memory')) return { version: 2, parent: dir };
    } catch {
      // not readable: try further up
    }
    if (dir === v2.mountPoint) break;
  }
  // None does: enable it at the mount's root if the controller exists at all (the root may have processes).
  try {
    if (!readText(join(v2.mountPoint, 'cgroup.controllers')).split(/\s+/).includes('memory')) {
      return { error: `the cgroup2 mount at ${v2.mountPoint} has no memory controller` };
    }
    writeFileSync(join(v2.mountPoint, 'cgroup.subtree_control'), '+memory');
    return { version: 2, parent: v2.mountPoint };
  } catch (error) {
    return { error: `cannot enable the memory controller in ${v2.mountPoint}: ${(error as Error).message}` };
  }
}

function killAll(path: string): number[] {
  let pids: number[] = [];
  try {
    pids = readText(join(path, 'cgroup.procs')).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return pids;
}

let sequence = 0;

/**
 * Makes a memory cgroup named PREFIX-PID-N limited to limitBytes, with no swap allowed (as a
 * Kubernetes node runs a container). Throws a one-line error when it cannot.
 */
export function createMemoryCgroup(prefix: string, limitBytes: number): MemoryCgroup {
  if (!Number.isSafeInteger(limitBytes) || limitBytes <= 0) throw new Error(`invalid memory limit ${limitBytes}`);
  const found = findMemoryParent();
  if ('error' in found) throw new Error(`no memory cgroup: ${found.error}`);
  const { version, parent } = found;
  sequence += 1;
  const path = join(parent, `${prefix}-${process.pid}-${sequence}`);
  try {
    mkdirSync(path);
  } catch (error) {
    throw new Error(`cannot make memory cgroup ${path}: ${(error as Error).message}`);
  }
  const removeOnExit = (): void => {
    killAll(path);
    try {
      rmdirSync(path);
    } catch {
      // still busy: nothing more a dying process can do
    }
  };
  process.on('exit', removeOnExit);
  try {
    if (version === 1) {
      writeFileSync(join(path, 'memory.limit_in_bytes'), String(limitBytes));
      // memory+swap: the same limit, so the process cannot get past it by swapping
      if (existsSync(join(path, 'memory.memsw.limit_in_bytes'))) writeFileSync(join(path, 'memory.memsw.limit_in_bytes'), String(limitBytes));
      const set = readNumber(join(path, 'memory.limit_in_bytes'));
      // the kernel rounds down to whole pages
      if (set > limitBytes || set < limitBytes - 4096) throw new Error(`memory.limit_in_bytes reads ${set}, not ${limitBytes}`);
    } else {
      writeFileSync(join(path, 'memory.max'), String(limitBytes));
      if (existsSync(join(path, 'memory.swap.max'))) writeFileSync(join(path, 'memory.swap.max'), '0');
      const set = readText(join(path, 'memory.max')).trim();
      if (set === 'max' || Number(set) > limitBytes) throw new Error(`memory.max reads ${set}, not ${limitBytes}`);
    }
  } catch (error) {
    removeOnExit();
    process.off('exit', removeOnExit);
    throw new Error(`cannot limit memory cgroup ${path}: ${(error as Error).message}`);
  }

  return memoryCgroupAt(path, version, limitBytes, () => process.off('exit', removeOnExit));
}

/** [cmd, args] that put themselves into the cgroup at dir (its cgroup.procs) and then exec cmd args: same pid, charged from its first instruction. */
export function wrapInto(dir: string, cmd: string, args: readonly string[]): [string, string[]] {
  return ['sh', ['-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', dir, cmd, ...args]];
}

/**
 * A view of an existing memory cgroup directory. Another mount namespace (`ip netns exec` mounts
 * its own /sys, without cgroup file systems) reaches one through /proc/PID/root/... of a process
 * outside. destroy() kills its tasks and removes it.
 */
export function memoryCgroupAt(path: string, version: CgroupVersion, limitBytes: number, onDestroyed: () => void = () => undefined): MemoryCgroup {
  let destroyed = false;
  return {
    version,
    path,
    limitBytes,
    wrap: (cmd, args) => wrapInto(path, cmd, args),
    events: () => {
      if (version === 1) {
        const control = readText(join(path, 'memory.oom_control'));
        const field = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(control)?.[1] ?? 0);
        const memsw = join(path, 'memory.memsw.failcnt');
        return {
          limitHits: readNumber(join(path, 'memory.failcnt')) + (existsSync(memsw) ? readNumber(memsw) : 0),
          oom: field('under_oom'),
          oomKills: field('oom_kill'),
        };
      }
      const text = readText(join(path, 'memory.events'));
      const field = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      return { limitHits: field('max'), oom: field('oom'), oomKills: field('oom_kill') };
    },
    usage: () => {
      if (version === 1) return { currentBytes: readNumber(join(path, 'memory.usage_in_bytes')), peakBytes: readNumber(join(path, 'memory.max_usage_in_bytes')) };
      const peak = join(path, 'memory.peak');
      return { currentBytes: readNumber(join(path, 'memory.current')), peakBytes: existsSync(peak) ? readNumber(peak) : undefined };
    },
    pids: () => readText(join(path, 'cgroup.procs')).split('\n').filter(Boolean).map(Number),
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      // rmdir fails with EBUSY until the last task has really gone
      const deadline = Date.now() + 10_000;
      for (;;) {
        killAll(path);
        try {
          rmdirSync(path);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || Date.now() > deadline) throw new Error(`cannot remove memory cgroup ${path}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      onDestroyed();
    },
  };
}

/** The events that moved between two readings (after − before). */
export function eventsSince(before: MemoryEvents, after: MemoryEvents): MemoryEvents {
  return { limitHits: after.limitHits - before.limitHits, oom: after.oom - before.oom, oomKills: after.oomKills - before.oomKills };
}

const QUANTITY_SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A Kubernetes memory quantity ("192Mi", "200M", "1Gi", "134217728", "1e9") in bytes. */
export function parseMemoryQuantity(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:(Ki|Mi|Gi|Ti|k|M|G|T)|[eE]([0-9]+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a Kubernetes memory quantity: ${JSON.stringify(text)}`);
  const value = Number(m[1]) * (m[3] !== undefined ? 10 ** Number(m[3]) : (QUANTITY_SUFFIX[m[2] ?? ''] as number));
  return Math.ceil(value);
}

export const DAEMONSET = fileURLToPath(new URL('../../../deploy/kubernetes/daemonset.yaml', import.meta.url));

/** The linkstate-exporter container of the shipped DaemonSet: its memory limit and request in bytes, and its args. */
export function daemonSetContainer(file = DAEMONSET): { memoryLimitBytes: number; memoryRequestBytes: number; args: string[] } {
  const doc = parseYaml(readFileSync(file, 'utf8')) as {
    spec?: { template?: { spec?: { containers?: Array<{ name?: string; args?: string[]; resources?: { limits?: { memory?: string }; requests?: { memory?: string } } }> } } };
  };
  const container = doc.spec?.template?.spec?.containers?.find((c) => c.name === 'linkstate-exporter');
  const limit = container?.resources?.limits?.memory;
  const request = container?.resources?.requests?.memory;
  if (limit === undefined || request === undefined) throw new Error(`${file}: the linkstate-exporter container has no memory limit or request`);
  return { memoryLimitBytes: parseMemoryQuantity(String(limit)), memoryRequestBytes: parseMemoryQuantity(String(request)), args: container?.args ?? [] };
}

/**
 * For tests: makes the cgroup, or, when it cannot, fails under CI=true and skips (with the reason)
 * otherwise. Returns undefined when skipped.
 */
export function requireMemoryCgroup(t: TestContext, prefix: string, limitBytes: number): MemoryCgroup | undefined {
  try {
    return createMemoryCgroup(prefix, limitBytes);
  } catch (error) {
    const reason = (error as Error).message;
    if (process.env['CI'] === 'true') assert.fail(`${reason} (CI=true: not skipping)`);
    t.skip(reason);
    return undefined;
  }
}

export const SYSTEMD_UNIT = fileURLToPath(new URL('../../../deploy/systemd/linkstate-exporter.service', import.meta.url));
export const SYSTEMD_ENV = fileURLToPath(new URL('../../../deploy/systemd/linkstate-exporter.env', import.meta.url));
export const SERVICE_MONITOR = fileURLToPath(new URL('../../../deploy/kubernetes/servicemonitor.yaml', import.meta.url));

/** A systemd memory size ("256M", "1G", "268435456"; K/M/G/T are powers of 1024) in bytes. */
export function parseSystemdMemory(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([KMGT]?)$/.exec(text.trim());
  if (!m) throw new Error(`not a systemd memory size: ${JSON.stringify(text)}`);
  return Math.floor(Number(m[1]) * 1024 ** ' KMGT'.indexOf(m[2] || ' '));
}

/** The shipped systemd unit's MemoryMax= in bytes and the flags its environment file passes. */
export function systemdService(unit = SYSTEMD_UNIT, env = SYSTEMD_ENV): { memoryMaxBytes: number; args: string[] } {
  const max = /^MemoryMax=(.*)$/m.exec(readFileSync(unit, 'utf8'))?.[1];
  if (max === undefined) throw new Error(`${unit}: no MemoryMax=`);
  const args = /^ARGS="?([^"\n]*)"?$/m.exec(readFileSync(env, 'utf8'))?.[1];
  if (args === undefined) throw new Error(`${env}: no ARGS`);
  return { memoryMaxBytes: parseSystemdMemory(max), args: args.split(/\s+/).filter(Boolean) };
}

/** The ServiceMonitor's scrapeTimeout ("5s", "500ms", "1m") in ms: how long a scrape may take before Prometheus gives up. */
export function serviceMonitorScrapeTimeoutMs(file = SERVICE_MONITOR): number {
  const text = /^\s*scrapeTimeout:\s*"?([0-9]+(?:ms|s|m))"?\s*$/m.exec(readFileSync(file, 'utf8'))?.[1];
  if (text === undefined) throw new Error(`${file}: no scrapeTimeout`);
  const n = Number.parseInt(text, 10);
  return text.endsWith('ms') ? n : text.endsWith('m') ? n * 60_000 : n * 1000;
}
