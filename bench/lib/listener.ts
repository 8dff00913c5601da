// The C program (bench/c/nl-listen.c): built with gcc, run as the event-consumption floor
// (listen), as a timestamping observer of carrier changes (watch), and to read the kernel's
// counters through a link dump (dump).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { run } from './lab.js';

export async function buildListener(source: string, output: string): Promise<void> {
  await run('gcc', ['-O2', '-Wall', '-Wextra', '-o', output, source]);
}

export interface ListenerStats {
  readonly datagrams: number;
  readonly messages: number;
  readonly links: number;
  readonly enobufs: number;
  /** CLOCK_MONOTONIC ms when it had last read the socket empty after a link message; NaN: none */
  readonly lastLinkMs: number;
}

/** A running `nl-listen listen|watch`; lines it prints are handed to the waiting callers. */
export class Listener {
  readonly child: ChildProcess;
  readonly #waiters: Array<(line: string) => boolean> = [];
  readonly #onLine: Array<(line: string) => void> = [];

  private constructor(child: ChildProcess) {
    this.child = child;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      for (const f of this.#onLine) f(line);
      const i = this.#waiters.findIndex((w) => w(line));
      if (i >= 0) this.#waiters.splice(i, 1);
    });
  }

  static async start(binary: string, mode: 'listen' | 'watch', rcvbufBytes: number): Promise<Listener> {
    const child = spawn(binary, [mode, '-b', String(rcvbufBytes)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const listener = new Listener(child);
    await listener.next((l) => l === 'READY', 5_000);
    return listener;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  onLine(f: (line: string) => void): void {
    this.#onLine.push(f);
  }

  /** The next line (after this call) that matches. */
  next(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('nl-listen did not answer')), timeoutMs);
      this.#waiters.push((line) => {
        if (!match(line)) return false;
        clearTimeout(timer);
        resolve(line);
        return true;
      });
    });
  }

  async stats(): Promise<ListenerStats> {
    const answer = this.next((l) => l.startsWith('STATS '), 5_000);
    this.child.stdin!.write('stats\n');
    const fields = Object.fromEntries([...(await answer).matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    const lastNs = fields['last_ns'] ?? 0;
    return {
      datagrams: fields['datagrams'] ?? 0,
      messages: fields['messages'] ?? 0,
      links: fields['links'] ?? 0,
      enobufs: fields['enobufs'] ?? 0,
      lastLinkMs: lastNs > 0 ? lastNs / 1e6 : Number.NaN,
    };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.stdin!.end();
    });
  }
}

export interface KernelCounters {
  readonly changes: number;
  readonly up: number;
  readonly down: number;
}

/** device → the kernel's carrier counters, from one RTM_GETLINK dump (retried if interrupted). */
export async function kernelCounters(binary: string): Promise<Map<string, KernelCounters>> {
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await new Promise<string>((resolve, reject) => {
        execFile(binary, ['dump'], { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
      });
      const map = new Map<string, KernelCounters>();
      for (const line of out.split('\n')) {
        if (line === '') continue;
        const [name, , changes, up, down] = line.split('\t');
        map.set(name as string, { changes: Number(changes), up: Number(up), down: Number(down) });
      }
      return map;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}
