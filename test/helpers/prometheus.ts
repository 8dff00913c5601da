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
  /** /api/v1/label/LABEL/values for series matching SELECTOR: what Grafana's label_values() asks. */
  labelValues(label: string, selector: string): Promise<string[]>;
}

export interface PrometheusOptions {
  /** Working directory: the configuration file and the TSDB go here. */
  readonly dir: string;
  readonly port: number;
  /** Absolute paths of rule files. */
  readonly ruleFiles: readonly string[];
  readonly jobName: string;
  readonly targets: readonly string[];
  /** Further scrape jobs (e.g. Prometheus scraping itself, to have a target that is not ours). */
  readonly extraJobs?: readonly { readonly jobName: string; readonly targets: readonly string[] }[];
  /** Scrape and rule evaluation interval, e.g. "1s". */
  readonly interval: string;
  /** Alertmanagers to send alerts to ("127.0.0.1:9093"). */
  readonly alertmanagers?: readonly string[];
  /** global.external_labels. */
  readonly externalLabels?: Readonly<Record<string, string>>;
}

/** Starts Prometheus inside ns; resolves once /-/ready answers (the caller must be in ns). */
export async function startPrometheus(ns: Netns, opts: PrometheusOptions): Promise<PrometheusServer> {
  const config = {
    global: {
      scrape_interval: opts.interval,
      scrape_timeout: opts.interval,
      evaluation_interval: opts.interval,
      ...(opts.externalLabels === undefined ? {} : { external_labels: { ...opts.externalLabels } }),
    },
    rule_files: [...opts.ruleFiles],
    ...(opts.alertmanagers === undefined ? {} : { alerting: { alertmanagers: [{ static_configs: [{ targets: [...opts.alertmanagers] }] }] } }),
    scrape_configs: [opts, ...(opts.extraJobs ?? [])].map((job) => ({ job_name: job.jobName, static_configs: [{ targets: [...job.targets] }] })),
  };
  const configFile = join(opts.dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const data = join(opts.dir, 'data');
  mkdirSync(data, { recursive: true });
  const { child, base, log } = await spawnReady(ns, 'prometheus', [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${data}`,
    `--web.listen-address=127.0.0.1:${opts.port}`,
    '--log.level=warn',
  ], opts.port);

  async function api<T>(path: string, body?: URLSearchParams): Promise<T> {
    const res = await fetch(base + path, body === undefined ? {} : { method: 'POST', body });
    const json = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (json.status !== 'success') throw new Error(`${path}: ${json.errorType ?? ''} ${json.error ?? res.status}`);
    return json.data;
  }

  return {
    child,
    base,
    log,
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
    async labelValues(label, selector) {
      return api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': selector })}`);
    },
  };
}

/**
 * The EXPORTER JOB SELECTOR that deploy/prometheus/alerts.yml declares in the marked block at its
 * top (e.g. `job=~"linkstate-exporter.*"`): the one job matcher LinkStateExporterDown needs.
 */
export function exporterJobSelector(alertsYaml: string): string {
  const match = /^# -+ EXPORTER JOB SELECTOR\b.*\n#\n# {3}(job(?:=~|!~|!=|=)"(?:[^"\\]|\\.)*")\n#\n/m.exec(alertsYaml);
  if (match === null) throw new Error('alerts.yml: no EXPORTER JOB SELECTOR block with an indented job="..." line');
  return match[1]!;
}

/** The job matchers (`job=~"..."` and the like) of a PromQL expression. */
export function jobMatchers(expr: string): string[] {
  return [...expr.matchAll(/\bjob\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map((m) => m[0]);
}

/** Whether a job matcher such as `job=~"linkstate-exporter.*"` selects JOB (regexes anchored, as in PromQL). */
export function jobMatcherSelects(matcher: string, job: string): boolean {
  const match = /^job(=~|!~|!=|=)"((?:[^"\\]|\\.)*)"$/.exec(matcher);
  if (match === null) throw new Error(`not a job matcher: ${matcher}`);
  const value = JSON.parse(`"${match[2]!}"`) as string;
  const regex = new RegExp(`^(?:${value})$`);
  switch (match[1]) {
    case '=':
      return job === value;
    case '!=':
      return job !== value;
    case '=~':
      return regex.test(job);
    default:
      return !regex.test(job);
  }
}

/**
 * alerts.yml with its exporter job selector replaced by SELECTOR, as the block at its top tells
 * users to do: in the block and in the one rule expression that uses it (throws unless exactly
 * one non-comment line has it).
 */
export function withExporterJobSelector(alertsYaml: string, selector: string): string {
  const current = exporterJobSelector(alertsYaml);
  const uses = alertsYaml.split('\n').filter((line) => !line.trimStart().startsWith('#') && line.includes(current));
  if (uses.length !== 1) throw new Error(`alerts.yml uses ${current} on ${uses.length} lines, not 1`);
  return alertsYaml.split(current).join(selector);
}

/** The recording rule of alerts.yml that selects the links that page (its ALERTING LINKS block). */
export const ALERTING_LINKS_RULE = 'linkstate:alerting_links';

/** The one-line `expr:` of the rule `record: linkstate:alerting_links` (its comment lines skipped). */
function alertingLinksLine(alertsYaml: string): RegExpExecArray {
  const match = /^( *)- record: linkstate:alerting_links\n(?:\1 {2}#.*\n)*\1 {2}expr: (.+)$/m.exec(alertsYaml);
  if (match === null) throw new Error(`alerts.yml: no rule "record: ${ALERTING_LINKS_RULE}" with a one-line expr`);
  return match;
}

/** The expression of linkstate:alerting_links in alerts.yml. */
export function alertingLinksExpr(alertsYaml: string): string {
  return alertingLinksLine(alertsYaml)[2]!;
}

/**
 * alerts.yml with linkstate:alerting_links set to EXPR, as its header tells users to widen the set
 * of links that page: that one rule's expression changes, nothing else.
 */
export function withAlertingLinks(alertsYaml: string, expr: string): string {
  const match = alertingLinksLine(alertsYaml);
  const line = match[0].slice(match[0].lastIndexOf('\n') + 1);
  const at = match.index + match[0].length - line.length;
  return alertsYaml.slice(0, at) + line.replace(match[2]!, expr) + alertsYaml.slice(at + line.length);
}

/**
 * Starts a Prometheus-family server (prometheus, prometheus-alertmanager) in `ns` listening on
 * 127.0.0.1:`port`, and waits until its /-/ready answers 200; its output is kept for errors.
 */
export async function spawnReady(
  ns: Netns,
  command: string,
  args: readonly string[],
  port: number,
): Promise<{ child: ChildProcess; base: string; log: () => string }> {
  const child = ns.spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    `${command} /-/ready`,
    async () => {
      if (exited !== undefined) throw new Error(`${command} exited with ${exited}:\n${output}`);
      return (await fetch(`${base}/-/ready`).catch(() => undefined))?.status === 200;
    },
    30_000,
    200,
  );
  return { child, base, log: () => output };
}
