// A lab for --collector.netns tests that never sees or touches the host's /run/netns.
//
// The lab is one holder process (`unshare -m -n`): a network namespace of its own (where the
// exporter runs) and a private mount namespace in which /run is a fresh tmpfs and /sys the lab's
// own sysfs. Every command of the lab (`ip netns add`, the exporter, ...) is run with
// `nsenter -t HOLDER -m -n`, so `ip netns add NAME` puts its file in the lab's private
// /run/netns, which is what the exporter is pointed at. Nothing of it is visible on the host.
//
// Clean-up does not depend on the test getting to its after(): every process of the lab is
// started under `setpriv --pdeathsig KILL`, and the holders wait on their stdin, so when the test
// process dies (even by SIGKILL) they all die, the private mount namespace goes with its last
// process, and with it the bind mounts that keep the named namespaces alive.
import {
  execFile,
  spawn as spawnChild,
  type ChildProcess,
  type ChildProcessWithoutNullStreams,
  type SpawnOptions,
} from 'node:child_process';
import { readlinkSync } from 'node:fs';
import koffi from 'koffi';
import { setnsCalls } from './libc.js';
import { SYSFS_BUILTINS_SCRIPT } from './kernel-match.js';
import { parseKernelCounters, type Netns } from './netns.js';

const MAX_OUTPUT = 64 * 1024 * 1024;

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end; never rejects for a non-zero exit (see `code`). */
export function runCommand(cmd: string, args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: MAX_OUTPUT, encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code === 'string') return reject(new Error(`${cmd}: ${error.message}`));
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          signal: (error?.signal as NodeJS.Signals | undefined) ?? null,
          stdout,
          stderr,
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

async function execute(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const result = await runCommand(cmd, args, input === undefined ? {} : { input });
  if (result.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${result.code ?? result.signal}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

// Mounts of the lab's private mount namespace; then it waits for its stdin to close.
const HOLDER_SCRIPT = [
  'set -e',
  'mount -t tmpfs -o mode=0755,size=4m lsx-netns-run /run',
  'mkdir /run/netns',
  'mount -t sysfs lsx-netns-sys /sys',
  'ip link set lo up',
  'sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1',
  'echo ready',
  'read -r _ || true',
].join('\n');

// Inside the namespace of an unnamed holder: sysfs of that namespace in a throwaway mount namespace.
const FRESH_SYSFS = 'mount -t sysfs lsx-netns-sys /sys && exec "$@"';

// One line per device, shell builtins only (parseKernelCounters' format): kernel-match.ts's script.
const SYSFS_SCRIPT = SYSFS_BUILTINS_SCRIPT;

/** Waits for a line on a child's stdout; rejects if it exits first. */
function waitForLine(child: ChildProcessWithoutNullStreams, line: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onOut = (chunk: string): void => {
      out += chunk;
      if (out.split('\n').includes(line)) {
        cleanup();
        resolve();
      }
    };
    const onErr = (chunk: string): void => void (err += chunk);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${what} exited with ${code ?? signal} before it was ready: ${err.trim()}`));
    };
    const cleanup = (): void => {
      child.stdout.off('data', onOut);
      child.stderr.off('data', onErr);
      child.off('exit', onExit);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', onOut);
    child.stderr.on('data', onErr);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

/** The inode of a namespace file (`net:[N]` of /proc/PID/ns/net). */
export function nsInode(path: string): number {
  const m = /^net:\[(\d+)\]$/.exec(readlinkSync(path));
  if (!m) throw new Error(`${path} is not a network namespace link`);
  return Number(m[1]);
}

/** A namespace that has an nsid in the lab but no name: a process `unshare -n` started in the lab. */
export interface UnnamedNetns extends Netns {
  readonly pid: number;
  /** Inode of the namespace, from /proc/PID/ns/net. */
  readonly inode: number;
}

export class NetnsLab {
  readonly pid: number;
  readonly #holder: ChildProcessWithoutNullStreams;
  readonly #children = new Set<ChildProcess>();
  readonly #onExit: () => void;
  #destroyed = false;
  /** The lab's own namespace (the exporter's) as a Netns named 'lab': spawn() starts the exporter there. */
  readonly own: Netns;

  private constructor(holder: ChildProcessWithoutNullStreams) {
    this.#holder = holder;
    this.pid = holder.pid!;
    this.#onExit = () => {
      for (const child of [...this.#children, this.#holder]) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    };
    process.on('exit', this.#onExit);
    this.own = this.#netns('lab', [], ['ip']);
  }

  /** Starts the holder: the lab's network namespace and its private /run, /run/netns and /sys. */
  static async create(): Promise<NetnsLab> {
    const holder = spawnChild('setpriv', ['--pdeathsig', 'KILL', 'unshare', '-m', '-n', '--propagation', 'private', 'sh', '-c', HOLDER_SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const ready = waitForLine(holder, 'ready', 'the lab holder (unshare -m -n)');
    await new Promise<void>((resolve, reject) => {
      holder.once('spawn', resolve);
      holder.once('error', reject);
    });
    const lab = new NetnsLab(holder);
    try {
      await ready;
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  /** The argv prefix that runs a command in the lab's network and mount namespaces. */
  get enter(): string[] {
    return ['nsenter', '-t', String(this.pid), '-m', '-n', '--'];
  }

  /** Runs a command in the lab (its netns and private mounts); resolves to stdout, rejects with stderr. */
  run(cmd: string, args: readonly string[]): Promise<string> {
    return execute(this.enter[0] as string, [...this.enter.slice(1), cmd, ...args]);
  }

  /** Like run, but resolves with the exit code and both outputs whatever the exit. */
  runResult(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<CommandResult> {
    return runCommand(this.enter[0] as string, [...this.enter.slice(1), cmd, ...args], { timeoutMs });
  }

  /** A long-lived process in the lab, SIGKILLed if the test process dies, killed by destroy(). */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawnChild('setpriv', ['--pdeathsig', 'KILL', ...this.enter, cmd, ...args], opts);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** `ip netns add NAME` in the lab (its file lands in the lab's private /run/netns), lo up, IPv6 off. */
  async addNamed(name: string): Promise<Netns> {
    await this.run('ip', ['netns', 'add', name]);
    const ns = this.named(name);
    await ns.run('sh', ['-c', 'ip link set lo up && sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1']);
    return ns;
  }

  /** The lab's named namespace NAME (which must exist) as a Netns. */
  named(name: string): Netns {
    return this.#netns(name, ['ip', 'netns', 'exec', name], ['ip', '-n', name], async () => {
      await this.run('ip', ['netns', 'del', name]);
    });
  }

  /** inode of /run/netns/NAME of the lab (stat -L). */
  async namedInode(name: string): Promise<number> {
    return Number((await this.run('stat', ['-L', '-c', '%i', `/run/netns/${name}`])).trim());
  }

  /** nsid of each named namespace, from `ip netns list` in the lab ("NAME (id: N)"). */
  async namedNsids(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const line of (await this.run('ip', ['netns', 'list'])).split('\n')) {
      const m = /^(\S+) \(id: (\d+)\)$/.exec(line.trim());
      if (m) out.set(m[1] as string, Number(m[2]));
    }
    return out;
  }

  /** IFLA_LINK_NETNSID of a lab device (the nsid, in the lab, of its veth peer's namespace). */
  async linkNetnsid(device: string): Promise<number> {
    const [link] = JSON.parse(await this.run('ip', ['-j', 'link', 'show', 'dev', device])) as Array<{ link_netnsid?: number }>;
    if (link?.link_netnsid === undefined) throw new Error(`${device} has no link-netnsid`);
    return link.link_netnsid;
  }

  /** Whether the lab has this device. */
  async hasDevice(device: string): Promise<boolean> {
    const result = await this.runResult('ip', ['link', 'show', 'dev', device]);
    if (result.code === 0) return true;
    if (/does not exist/.test(result.stderr)) return false;
    throw new Error(`ip link show ${device}: ${result.stderr.trim()}`);
  }

  /** A namespace with no name: `unshare -n` holding on its stdin, started in the lab. */
  async addUnnamed(label: string): Promise<UnnamedNetns> {
    const child = this.spawn('unshare', ['-n', 'sh', '-c', 'echo ready; read -r _ || true'], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitForLine(child as ChildProcessWithoutNullStreams, 'ready', 'the unnamed namespace holder');
    const pid = child.pid!;
    // setpriv, nsenter and unshare each exec the next: the pid is the shell inside the namespace
    const inode = nsInode(`/proc/${pid}/ns/net`);
    const enter = ['nsenter', '-t', String(pid), '-n', '--'];
    const ns = this.#netns(label, [...enter, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', FRESH_SYSFS, 'sh'], [...enter, 'ip'], async () => {
      child.stdin?.end();
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    });
    await ns.run('sh', ['-c', 'ip link set lo up && sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1']);
    return { ...ns, pid, inode };
  }

  /** Kills every process of the lab; the namespaces die with the holder's mount namespace. Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all(
      [...this.#children].map((child) => {
        const done = exited(child);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        return done;
      }),
    );
    const done = exited(this.#holder);
    this.#holder.stdin.end();
    const timer = setTimeout(() => this.#holder.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(timer);
    process.off('exit', this.#onExit);
  }

  /**
   * A Netns of the lab: run() executes `inner cmd args` inside the lab (a prefix that gives the
   * command the namespace and a sysfs of its own), ipBatch() `ip... -batch -`.
   */
  #netns(name: string, inner: readonly string[], ip: readonly string[], destroy: () => Promise<void> = async () => {}): Netns {
    let destroyed = false;
    const inLab = (argv: readonly string[]): [string, string[]] => [this.enter[0] as string, [...this.enter.slice(1), ...argv]];
    return {
      name,
      run: (cmd, args) => execute(...inLab([...inner, cmd, ...args])),
      ipBatch: (lines) => {
        const [cmd, args] = inLab([...ip, '-batch', '-']);
        return execute(cmd, args, lines.join('\n') + '\n').then(() => undefined);
      },
      kernelCounters: async () => parseKernelCounters(await execute(...inLab([...inner, 'sh', '-c', SYSFS_SCRIPT]))),
      spawn: (cmd, args, opts = {}) => {
        const argv = [...inner, cmd, ...args];
        return this.spawn(argv[0] as string, argv.slice(1), opts);
      },
      destroy: async () => {
        if (destroyed) return;
        destroyed = true;
        await destroy();
      },
    };
  }
}

// setns(2) of the calling thread, for fetch() and sockets into the lab's network namespace.
const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const bindings = setnsCalls;

/**
 * Moves the calling (main) thread into the network namespace of PID (sockets it creates after
 * this live there). Returns the function that moves it back.
 */
export function enterNetnsOf(pid: number): () => void {
  const c = bindings();
  const original = c.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
  if (original < 0) throw new Error(`open own netns failed: errno ${koffi.errno()}`);
  const target = c.open(`/proc/${pid}/ns/net`, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    c.close(original);
    throw new Error(`open /proc/${pid}/ns/net failed: errno ${koffi.errno()}`);
  }
  const entered = c.setns(target, CLONE_NEWNET);
  const errno = koffi.errno();
  c.close(target);
  if (entered !== 0) {
    c.close(original);
    throw new Error(`setns /proc/${pid}/ns/net failed: errno ${errno}`);
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    try {
      if (c.setns(original, CLONE_NEWNET) !== 0) throw new Error(`setns back failed: errno ${koffi.errno()}`);
    } finally {
      c.close(original);
    }
  };
}

// The port id of the exporter's link-event socket: kernel-match.ts's linkSocketPortId.
export { linkSocketPortId } from './kernel-match.js';
