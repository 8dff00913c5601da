// Runs the built exporter (dist/src/main.js) as a child process inside a test network namespace.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';
import { waitFor } from './repo.js';

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface RunningExporter {
  readonly child: ChildProcess;
  readonly port: number;
  readonly base: string;
  /** Everything written to stderr so far (the log). */
  log(): string;
  /**
   * Waits until the log matches `pattern` (a line reaches stderr up to 20 ms after it is logged:
   * the writer batches them) and returns the log; fails after `timeoutMs` with the log so far.
   */
  logged(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** GET a path; the calling thread must be in the exporter's namespace (enterNetns). */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; text: string; headers: Headers }>;
  /** SIGTERM, resolves with the exit code and how long the exit took. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

let nextPort = 19100;

/** Starts the exporter on 127.0.0.1:<port> inside ns; resolves once it answers /-/healthy. The calling thread must be in ns. */
export async function startExporter(
  ns: Netns,
  args: readonly string[] = [],
  opts: { port?: number; /** Sent with the /-/healthy probe (e.g. basic-auth credentials). */ headers?: Record<string, string> } = {},
): Promise<RunningExporter> {
  const port = opts.port ?? nextPort++;
  const child = ns.spawn(process.execPath, [MAIN, `--web.listen-address=127.0.0.1:${port}`, '--log.level=debug', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const base = `http://127.0.0.1:${port}`;
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`exporter ${exited} before answering:\n${stderr}`);
    try {
      if ((await fetch(`${base}/-/healthy`, { headers: opts.headers ?? {} })).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`exporter did not answer /-/healthy within 10 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    child,
    port,
    base,
    log: () => stderr,
    async logged(pattern, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (Date.now() > until) throw new Error(`the log did not match ${pattern} within ${timeoutMs} ms:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return stderr;
    },
    async get(path, headers = {}) {
      const res = await fetch(base + path, { headers });
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
    stop() {
      const t0 = Date.now();
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve({ code: child.exitCode, signal: null, ms: 0 });
        child.once('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - t0 }));
        child.kill('SIGTERM');
      });
    },
  };
}

/** Polls fn until it returns a value other than undefined/false (repo.ts's waitFor, polled every 50 ms by default). */
export function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  return waitFor(what, fn, timeoutMs, stepMs);
}
