// The exporters under test, started as child processes in the lab's namespace: ours
// (dist/src/main.js, default flags) and Debian's prometheus-node-exporter.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monoMs } from './clock.js';
import { waitFor200 } from './http.js';

export const OURS_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
export const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';

export interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: string;
  /** monotonic ms from spawn to the readiness answer */
  readonly readyMs: number;
  stop(): Promise<void>;
}

/** Starts cmd with its output appended to logFile; with onLine, stderr also goes line by line to it. */
function launch(
  name: string,
  cmd: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
  onLine?: (line: string) => void,
): ChildProcess {
  const log = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', log, onLine ? 'pipe' : log], env });
    child.on('error', (e) => process.stderr.write(`${name}: ${e.message}\n`));
    if (onLine && child.stderr) {
      const file = createWriteStream(logFile, { flags: 'a' });
      createInterface({ input: child.stderr }).on('line', (line) => {
        file.write(line + '\n');
        onLine(line);
      });
      child.once('exit', () => file.end());
    }
    return child;
  } finally {
    closeSync(log);
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

export interface LaunchOptions {
  /** the exporter's main.js (default: this checkout's dist/src/main.js) */
  readonly main?: string;
  /** wraps the command line, e.g. to start it inside a memory cgroup (test/helpers/cgroup.ts wrapInto) */
  readonly wrap?: (cmd: string, args: readonly string[]) => [string, string[]];
}

/**
 * Starts ours and waits for /-/ready (the initial dump applied): readyMs is start-to-ready.
 * nodeOptions, when set, becomes the exporter's NODE_OPTIONS (for experiments; default none);
 * onLine, when set, gets each line the exporter logs.
 */
export async function startOurs(
  port: number,
  logFile: string,
  extraArgs: readonly string[] = [],
  nodeOptions?: string,
  onLine?: (line: string) => void,
  launchOptions: LaunchOptions = {},
): Promise<Running> {
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_OPTIONS'];
  if (nodeOptions !== undefined && nodeOptions !== '') env['NODE_OPTIONS'] = nodeOptions;
  const t0 = monoMs();
  const args = [launchOptions.main ?? OURS_MAIN, ...extraArgs, `--web.listen-address=127.0.0.1:${port}`];
  const [cmd, argv] = launchOptions.wrap ? launchOptions.wrap(process.execPath, args) : [process.execPath, args];
  const child = launch('linkstate-exporter', cmd, argv, logFile, env, onLine);
  const readyAt = await waitFor200(base, '/-/ready', 60_000, 2, child);
  return { name: 'linkstate-exporter', child, pid: child.pid as number, base, readyMs: readyAt - t0, stop: stopper(child) };
}

export type NodeExporterConfig = 'netclass' | 'netclass+netdev';

export async function startNodeExporter(config: NodeExporterConfig, port: number, logFile: string): Promise<Running> {
  const base = `http://127.0.0.1:${port}`;
  const collectors = config === 'netclass' ? ['--collector.netclass'] : ['--collector.netclass', '--collector.netdev'];
  const t0 = monoMs();
  const child = launch(
    `node_exporter ${config}`,
    NODE_EXPORTER,
    [`--web.listen-address=127.0.0.1:${port}`, '--collector.disable-defaults', ...collectors],
    logFile,
  );
  const readyAt = await waitFor200(base, '/', 30_000, 5);
  return { name: `node_exporter ${config}`, child, pid: child.pid as number, base, readyMs: readyAt - t0, stop: stopper(child) };
}
