// A real Prometheus server (Debian's `prometheus` package) for end-to-end tests: started inside a
// test network namespace on 127.0.0.1, queried through its HTTP API by a test thread that has
// entered the same namespace (enterNetns).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Netns } from './netns.js';
import { waitFor } from './repo.js';

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface ApiAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt?: string;
  readonly value: string;
}

export interface PrometheusServer {
  readonly child: ChildProcess;
  readonly base: string;
  /** Everything the server logged so far. */
  log(): string;
  /** Instant query at "now"; a vector or scalar as samples. Rejects with Prometheus's error text. */
  query(expr: string): Promise<Sample[]>;
  /** Active (pending or firing) alerts from /api/v1/alerts. */
  alerts(): Promise<ApiAlert[]>;
}

export interface PrometheusOptions {
  /** Working directory: the configuration file and the TSDB go here. */
  readonly dir: string;
  readonly port: number;
  /** Absolute paths of rule files. */
  readonly ruleFiles: readonly string[];
  readonly jobName: string;
  readonly targets: readonly string[];
  /** Scrape and rule evaluation interval, e.g. "1s". */
  readonly interval: string;
}

/** Starts Prometheus inside ns; resolves once /-/ready answers (the caller must be in ns). */
export async function startPrometheus(ns: Netns, opts: PrometheusOptions): Promise<PrometheusServer> {
  const config = {
    global: { scrape_interval: opts.interval, scrape_timeout: opts.interval, evaluation_interval: opts.interval },
    rule_files: [...opts.ruleFiles],
    scrape_configs: [{ job_name: opts.jobName, static_configs: [{ targets: [...opts.targets] }] }],
  };
  const configFile = join(opts.dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const data = join(opts.dir, 'data');
  mkdirSync(data, { recursive: true });
  const child = ns.spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${opts.port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const base = `http://127.0.0.1:${opts.port}`;
  await waitFor(
    'Prometheus /-/ready',
    async () => {
      if (exited !== undefined) throw new Error(`prometheus exited with ${exited}:\n${output}`);
      return (await fetch(`${base}/-/ready`)).status === 200;
    },
    30_000,
    200,
  );

  async function api<T>(path: string, body?: URLSearchParams): Promise<T> {
    const res = await fetch(base + path, body === undefined ? {} : { method: 'POST', body });
    const json = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (json.status !== 'success') throw new Error(`${path}: ${json.errorType ?? ''} ${json.error ?? res.status}`);
    return json.data;
  }

  return {
    child,
    base,
    log: () => output,
    async query(expr) {
      const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', new URLSearchParams({ query: expr }));
      if (data.resultType === 'scalar') {
        const [, value] = data.result as [number, string];
        return [{ metric: {}, value: Number(value) }];
      }
      if (data.resultType !== 'vector') throw new Error(`${expr}: unexpected result type ${data.resultType}`);
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
        metric: s.metric,
        value: Number(s.value[1]),
      }));
    },
    async alerts() {
      return (await api<{ alerts: ApiAlert[] }>('/api/v1/alerts')).alerts;
    },
  };
}
