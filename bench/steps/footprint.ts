// Footprint at rest: linkstate-exporter (default flags) on a small host, after `scrapes` scrapes
// with Prometheus's headers and `restSeconds` of rest (connection closed, nothing changing),
// beside a bare `node` process started at the same moment and doing nothing
// (`node -e 'setTimeout(() => {}, 2 ** 31 - 1)'`, no NODE_OPTIONS). RSS = VmRSS of each; the
// result is ours ÷ bare, per run and the median over the runs.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startOurs } from '../lib/exporters.js';
import { ScrapeClient, PROMETHEUS_HEADERS } from '../lib/http.js';
import { memory } from '../lib/proc.js';
import { sleep } from '../lib/clock.js';
import { median } from '../lib/stats.js';

export interface FootprintRun {
  readonly oursRss: number;
  readonly bareRss: number;
  readonly ratio: number;
}

export interface Footprint {
  readonly interfaces: number;
  readonly scrapes: number;
  readonly restSeconds: number;
  readonly runs: readonly FootprintRun[];
  /** medians over the runs, bytes */
  readonly oursRss: number;
  readonly bareRss: number;
  readonly ratio: number;
}

export interface FootprintOptions {
  readonly port: number;
  readonly logDir: string;
  readonly interfaces: number;
  readonly runs: number;
  readonly scrapes: number;
  readonly restSeconds: number;
  readonly exporterMain?: string;
  readonly nodeOptions: string;
}

export async function measureFootprint(o: FootprintOptions): Promise<Footprint> {
  const runs: FootprintRun[] = [];
  for (let i = 0; i < o.runs; i++) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['NODE_OPTIONS'];
    const bare = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 2 ** 31 - 1)'], { stdio: 'ignore', env });
    const ours = await startOurs(o.port, join(o.logDir, 'linkstate-exporter-footprint.log'), [], o.nodeOptions, undefined, o.exporterMain ? { main: o.exporterMain } : {});
    try {
      const client = new ScrapeClient(ours.base);
      for (let s = 0; s < o.scrapes; s++) {
        const r = await client.get('/metrics', PROMETHEUS_HEADERS);
        if (r.status !== 200) throw new Error(`footprint: scrape answered ${r.status}`);
      }
      client.close();
      await sleep(o.restSeconds * 1000);
      const oursRss = memory(ours.pid).rss;
      const bareRss = memory(bare.pid as number).rss;
      runs.push({ oursRss, bareRss, ratio: oursRss / bareRss });
    } finally {
      await ours.stop();
      bare.kill('SIGKILL');
    }
  }
  const oursRss = median(runs.map((r) => r.oursRss));
  const bareRss = median(runs.map((r) => r.bareRss));
  return { interfaces: o.interfaces, scrapes: o.scrapes, restSeconds: o.restSeconds, runs, oursRss, bareRss, ratio: median(runs.map((r) => r.ratio)) };
}
