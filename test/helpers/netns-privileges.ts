// Runs the built exporter with --collector.netns under a chosen identity and capability set
// (setpriv, as systemd or a container runtime would start it) in a lab namespace that has one
// other namespace with a veth peer in it. Used by the deploy tests to prove that the shipped
// privileges are enough (it starts and exports the other namespace) and that less is refused
// (one line on stderr, exit 1).
//
// The other namespace is named by a bind mount in a private directory, passed with
// --collector.netns.paths, so the exporter never touches the namespaces of /run/netns that other
// tests on the machine own.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_MAIN } from './exporter-flags.js';
import { createNetns, enterNetns, type Netns } from './netns.js';
import { waitFor } from './repo.js';

/** The netns label the other namespace gets: its file name under the private paths directory. */
export const PEER_LABEL = 'lab-peer';
/** The veth ends: LAB_DEVICE in the lab (the exporter's own namespace), PEER_DEVICE in the other one. */
export const LAB_DEVICE = 'npv0';
export const PEER_DEVICE = 'npv1';

/** The one line the exporter prints when --collector.netns lacks a capability (src/cli/run.ts). */
export function missingCapabilitiesLine(missing: readonly string[]): string {
  return `linkstate-exporter: --collector.netns needs CAP_NET_ADMIN and CAP_NET_BROADCAST; this process lacks ${missing.join(' and ')}`;
}

export interface Lab {
  readonly lab: Netns;
  readonly peer: Netns;
  /** --collector.netns.paths for the run: a directory holding only PEER_LABEL. */
  readonly pathsDir: string;
  /** The other namespace's inode (its identity, as in /proc/PID/ns/net). */
  readonly peerInode: number;
}

/** Creates the lab and the other namespace, runs fn, and removes everything again. */
export async function withNetnsLab<T>(prefix: string, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await createNetns(`${prefix}-lab`);
  let peer: Netns | undefined;
  const pathsDir = mkdtempSync(join(tmpdir(), 'linkstate-netns-paths-'));
  const mountPoint = join(pathsDir, PEER_LABEL);
  let mounted = false;
  try {
    chmodSync(pathsDir, 0o755);
    peer = await createNetns(`${prefix}-peer`);
    await lab.ipBatch([`link add ${LAB_DEVICE} type veth peer name ${PEER_DEVICE} netns ${peer.name}`, `link set ${LAB_DEVICE} up`]);
    await peer.ipBatch([`link set ${PEER_DEVICE} up`]);
    writeFileSync(mountPoint, '');
    const mount = spawnSync('mount', ['--bind', `/run/netns/${peer.name}`, mountPoint], { encoding: 'utf8' });
    assert.equal(mount.status, 0, `mount --bind: ${mount.stderr}`);
    mounted = true;
    return await fn({ lab, peer, pathsDir, peerInode: statSync(`/run/netns/${peer.name}`).ino });
  } finally {
    // The bind mount holds the namespace: it must go before the namespace can die.
    if (mounted) spawnSync('umount', [mountPoint]);
    rmSync(pathsDir, { recursive: true, force: true });
    await peer?.destroy();
    await lab.destroy();
  }
}

export interface Started {
  readonly child: ChildProcess;
  readonly base: string;
  /** /metrics, fetched from inside the lab. */
  metrics(): Promise<string>;
  /** The exporter's /proc/PID/status (the spawned process is the exporter: ip netns exec and setpriv exec). */
  status(): string;
  stop(): Promise<void>;
}

function listenPort(args: readonly string[]): number {
  const listen = args.find((a) => a.startsWith('--web.listen-address='))?.split('=')[1] ?? ':10071';
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

async function inLab<T>(lab: Netns, fn: () => Promise<T>): Promise<T> {
  const leave = enterNetns(lab.name);
  try {
    return await fn();
  } finally {
    leave();
  }
}

/**
 * Starts `[PREFIX...] setpriv SETPRIV_ARGS -- node main.js ARGS` in the lab and waits until it is
 * ready. With a prefix (e.g. strace) stop() sends SIGTERM to the prefix command's one child, the
 * exporter, so that its own shutdown runs.
 */
export async function startPrivileged(
  lab: Lab,
  setprivArgs: readonly string[],
  args: readonly string[],
  prefix: readonly string[] = [],
): Promise<Started> {
  const command = [...prefix, 'setpriv', ...setprivArgs, '--', process.execPath, BUILT_MAIN, ...args];
  const child = lab.lab.spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const base = `http://127.0.0.1:${listenPort(args)}`;
  const get = (path: string): Promise<Response> => inLab(lab.lab, () => fetch(`${base}${path}`, { headers: { connection: 'close' } }));
  await waitFor(
    `/-/ready of the exporter started with setpriv ${setprivArgs.join(' ')}`,
    async () => {
      if (exited !== undefined) throw new Error(`exporter exited with ${exited}: ${stderr}`);
      return (await get('/-/ready')).status === 200;
    },
    15_000,
  );
  return {
    child,
    base,
    metrics: async () => (await get('/metrics')).text(),
    status: () => readFileSync(`/proc/${child.pid}/status`, 'utf8'),
    stop: async () => {
      if (exited === undefined) {
        if (prefix.length === 0) {
          child.kill('SIGTERM');
        } else {
          const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
          assert.equal(children.length, 1, `${prefix[0]} has one child: ${children.join(' ')}`);
          process.kill(Number(children[0]), 'SIGTERM');
        }
      }
      await exit;
      assert.equal(exited, 0, `the exporter exited 0 on SIGTERM: ${stderr}`);
    },
  };
}

/** Runs `setpriv SETPRIV_ARGS -- node main.js ARGS` in the lab to its exit (10 s at most). */
export async function runToExit(
  lab: Lab,
  setprivArgs: readonly string[],
  args: readonly string[],
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = lab.lab.spawn('setpriv', [...setprivArgs, '--', process.execPath, BUILT_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stderr, stdout };
}

/** The assertions both deploy variants share: the other namespace is exported, the own links unchanged. */
export function assertExportsPeer(metrics: string, lab: Lab): void {
  const peer = `device="${PEER_DEVICE}",netns="${PEER_LABEL}"`;
  assert.match(metrics, new RegExp(`^linkstate_carrier\\{${peer}\\} 1$`, 'm'), 'the other namespace link, labelled netns');
  assert.match(metrics, new RegExp(`^linkstate_up\\{${peer}\\} 1$`, 'm'));
  assert.match(metrics, new RegExp(`^linkstate_carrier\\{device="${LAB_DEVICE}"\\} 1$`, 'm'), 'the own link, no netns label');
  assert.match(metrics, /^linkstate_carrier\{device="lo"\} 1$/m, 'the own loopback, no netns label');
  assert.match(
    metrics,
    new RegExp(`^linkstate_netns_info\\{netns="${PEER_LABEL}",nsid="\\d+",inode="${lab.peerInode}"\\} 1$`, 'm'),
    'linkstate_netns_info names the other namespace by its inode',
  );
  assert.match(metrics, /^linkstate_exporter_namespaces 2$/m, 'the own namespace and the other one');
}

/** CapEff/CapPrm/CapBnd of a /proc/PID/status as a set of capability bits. */
export function capabilitySet(status: string, field: 'CapEff' | 'CapPrm' | 'CapBnd' | 'CapAmb' | 'CapInh'): bigint {
  const hex = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1];
  assert.ok(hex !== undefined, `${field} in ${status}`);
  return BigInt(`0x${hex}`);
}

/** CAP_NET_BROADCAST (11) and CAP_NET_ADMIN (12). */
export const NET_ADMIN_AND_BROADCAST = (1n << 11n) | (1n << 12n);
