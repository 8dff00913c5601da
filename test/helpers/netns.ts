// Throwaway network namespaces for real-kernel tests (root only). Each namespace is a named one
// (`ip netns add`), so `ip netns exec` gives commands a fresh /sys of their own, and it is deleted
// by destroy() or, if a test dies first, by a process 'exit' hook.
import assert from 'node:assert/strict';
import {
  execFile,
  spawn as spawnChild,
  spawnSync,
  type ChildProcess,
  type SpawnOptions,
} from 'node:child_process';
import type { TestContext } from 'node:test';
import koffi from 'koffi';
import { setnsCalls } from './libc.js';

/** The kernel's own view of one device, read from sysfs inside the namespace. */
export interface KernelLinkCounters {
  /** /sys/class/net/DEV/carrier; undefined when the kernel refuses (EINVAL: device admin down). */
  readonly carrier: 0 | 1 | undefined;
  readonly carrierChanges: number;
  readonly up: number;
  readonly down: number;
  /** /sys/class/net/DEV/operstate ("up", "down", "lowerlayerdown", "unknown", ...). */
  readonly operstate: string;
  /** IFF_UP in /sys/class/net/DEV/flags. */
  readonly adminUp: boolean;
}

export interface Netns {
  readonly name: string;
  /** Runs CMD inside the namespace; resolves to its stdout, rejects with its stderr. */
  run(cmd: string, args: readonly string[]): Promise<string>;
  /** Feeds the lines to one `ip -n NAME -batch -` process; rejects with its stderr on failure. */
  ipBatch(lines: readonly string[]): Promise<void>;
  /** device → counters, from a sysfs mounted inside the namespace. */
  kernelCounters(): Promise<Map<string, KernelLinkCounters>>;
  /** A child process inside the namespace (killed by destroy()). */
  spawn(cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Kills the children this helper spawned and deletes the namespace; idempotent. */
  destroy(): Promise<void>;
}

const MAX_OUTPUT = 64 * 1024 * 1024;
let sequence = 0;

function execute(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: MAX_OUTPUT, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error !== null) {
        reject(new Error(`${cmd} ${args.join(' ')} failed (${error.code ?? error.signal}): ${stderr.trim()}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Creates a network namespace named PREFIX-PID-N with lo up. Needs root. */
export async function createNetns(prefix: string): Promise<Netns> {
  sequence += 1;
  const name = `${prefix}-${process.pid}-${sequence}`;
  await execute('ip', ['netns', 'add', name]);
  const children = new Set<ChildProcess>();
  let destroyed = false;
  const removeOnExit = (): void => {
    for (const child of children) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', name]);
  };
  process.on('exit', removeOnExit);

  const netns: Netns = {
    name,
    run: (cmd, args) => execute('ip', ['netns', 'exec', name, cmd, ...args]),
    ipBatch: (lines) =>
      new Promise((resolve, reject) => {
        const child = spawnChild('ip', ['-n', name, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => (stderr += chunk));
        child.on('error', reject);
        child.on('close', (code) => {
          if (code === 0) resolve();
          else reject(new Error(`ip -n ${name} -batch - exited with ${code}: ${stderr.trim()}`));
        });
        child.stdin.end(lines.join('\n') + '\n');
      }),
    kernelCounters: async () => parseKernelCounters(await execute('ip', ['netns', 'exec', name, 'sh', '-c', SYSFS_SCRIPT])),
    spawn: (cmd, args, opts = {}) => {
      const child = spawnChild('ip', ['netns', 'exec', name, cmd, ...args], opts);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      await execute('ip', ['netns', 'del', name]);
      process.off('exit', removeOnExit);
    },
  };
  try {
    await netns.run('ip', ['link', 'set', 'lo', 'up']);
  } catch (error) {
    await netns.destroy();
    throw error;
  }
  return netns;
}

// One line per device: name, carrier ('-' when sysfs refuses), carrier_changes, carrier_up_count,
// carrier_down_count, operstate, flags. Run by `ip netns exec`, which mounts the namespace's sysfs.
const SYSFS_SCRIPT = [
  'for d in /sys/class/net/*; do',
  '  n=${d##*/}',
  '  c=$(cat "$d/carrier" 2>/dev/null) || c=-',
  '  printf "%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n" "$n" "$c" "$(cat "$d/carrier_changes")" \\',
  '    "$(cat "$d/carrier_up_count")" "$(cat "$d/carrier_down_count")" "$(cat "$d/operstate")" "$(cat "$d/flags")"',
  'done',
].join('\n');

/** Parses the SYSFS_SCRIPT output. */
export function parseKernelCounters(text: string): Map<string, KernelLinkCounters> {
  const result = new Map<string, KernelLinkCounters>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split('\t');
    if (fields.length !== 7) throw new Error(`unexpected sysfs line: ${JSON.stringify(line)}`);
    const [device, carrier, changes, up, down, operstate, flags] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    result.set(device, {
      carrier: carrier === '1' ? 1 : carrier === '0' ? 0 : undefined,
      carrierChanges: toCount(changes, line),
      up: toCount(up, line),
      down: toCount(down, line),
      operstate,
      adminUp: (Number.parseInt(flags, 16) & 0x1) !== 0,
    });
  }
  return result;
}

function toCount(text: string, line: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`unexpected counter ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  return Number(text);
}

/**
 * Real-kernel tests need root. Returns true when the test may go on. Without root the test
 * fails under CI=true and is skipped (with the reason) otherwise.
 */
export function requireRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return true;
  const reason = 'needs root to create network namespaces';
  if (process.env['CI'] === 'true') assert.fail(`${reason} (CI=true: not skipping)`);
  t.skip(reason);
  return false;
}

// setns(2) for the calling thread.
const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const bindings = setnsCalls;

function switchTo(path: string): void {
  const libc = bindings();
  const fd = libc.open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new Error(`open ${path} failed: errno ${koffi.errno()}`);
  try {
    if (libc.setns(fd, CLONE_NEWNET) !== 0) throw new Error(`setns ${path} failed: errno ${koffi.errno()}`);
  } finally {
    libc.close(fd);
  }
}

/**
 * Moves the calling (main) thread into the named namespace: sockets it creates afterwards
 * (node's http/fetch, netlink) and children it spawns afterwards live there. Threads that exist
 * already (libuv's pool, older workers) stay where they were. Returns a function that moves the
 * thread back to the namespace it was in. Connections made meanwhile stay in the namespace after
 * that: fetch's keep-alive pool may reuse one, so send `connection: close` or use `agent: false`.
 */
export function enterNetns(name: string): () => void {
  const libc = bindings();
  const original = libc.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
  if (original < 0) throw new Error(`open own netns failed: errno ${koffi.errno()}`);
  try {
    switchTo(`/run/netns/${name}`);
  } catch (error) {
    libc.close(original);
    throw error;
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    try {
      if (libc.setns(original, CLONE_NEWNET) !== 0) throw new Error(`setns back failed: errno ${koffi.errno()}`);
    } finally {
      libc.close(original);
    }
  };
}
