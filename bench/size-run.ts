// One lab size, measured from inside the lab's network namespace (run.ts starts this under
// `ip netns exec`, so /sys, `ip` and 127.0.0.1 are the lab's). Writes one JSON result file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLab, interfaceCount, run } from './lib/lab.js';
import { Listener } from './lib/listener.js';
import { LineFeed } from './lib/lines.js';
import { startOurs, startNodeExporter, type Running, type NodeExporterConfig } from './lib/exporters.js';
import { ScrapeClient, PLAIN_HEADERS, PROMETHEUS_HEADERS } from './lib/http.js';
import { memory, type Memory } from './lib/proc.js';
import { monoMs, sleep } from './lib/clock.js';
import { summarize, type Summary } from './lib/stats.js';
import { measureScrapes, type ScrapeSeries } from './steps/scrapes.js';
import { measureIdle, type IdleResult } from './steps/idle.js';
import { measureStormCost, measureStormExact, type StormCost, type StormExact } from './steps/storm.js';
import { measureLatency, type LatencyResult } from './steps/latency.js';
import { runLabStep } from './lib/lab-step.js';
import { allowedCpus, pinApart, unpinHarness } from './lib/pin.js';

export interface SizeConfig {
  readonly pairs: number;
  readonly outDir: string;
  readonly listenerBinary: string;
  readonly scrapes: number;
  readonly neScrapes: number;
  readonly neMinScrapes: number;
  readonly neBudgetSeconds: number;
  readonly idleSeconds: number;
  readonly readyRuns: number;
  readonly stormFlips: number;
  readonly changes: number;
  readonly skipNodeExporter: boolean;
  /** NODE_OPTIONS for the exporter ('' = none, the default) */
  readonly exporterNodeOptions: string;
  /** the exporter's main.js when not this checkout's (--exporter) */
  readonly exporterMain?: string;
}

export interface ExporterResult {
  readonly plain: ScrapeSeries;
  readonly prometheus: ScrapeSeries;
  /** right after the scrapes */
  readonly memory: Memory;
  /** at the end of the idle window */
  readonly memoryAfterIdle?: Memory;
  readonly idle?: IdleResult;
}

export interface SizeResult {
  readonly pairs: number;
  readonly interfaces: number;
  readonly labSeconds: number;
  readonly ours: ExporterResult & { readonly readyMs: Summary; readonly peakRssAfterStorms: number };
  readonly nodeExporter: Partial<Record<NodeExporterConfig, ExporterResult>>;
  readonly listenerIdle?: IdleResult;
  readonly stormCost: StormCost;
  readonly stormExact: StormExact;
  /** the storm cost again, with --log.level=warn (no log line per carrier change) */
  readonly stormCostWarnLog: StormCost;
  readonly latency: LatencyResult;
}

const OURS_PORT = 10071;
const NE_PORTS: Record<NodeExporterConfig, number> = { netclass: 9100, 'netclass+netdev': 9101 };
const RCVBUF = 8 * 1024 * 1024; // what the exporter asks for by default (--netlink.receive-buffer-bytes)

const T0 = Date.now();
/** The idle window opens at least this long after our last scrape (see the idle step below). */
const IDLE_AFTER_SCRAPES_MS = 15_000;

function log(msg: string): void {
  process.stderr.write(`bench: [${((Date.now() - T0) / 1000).toFixed(1)} s] ${msg}\n`);
}

function countLines(prefix: string, want: number): (text: string) => void {
  return (text) => {
    let n = 0;
    for (const line of text.split('\n')) if (line.startsWith(prefix)) n++;
    if (n !== want) throw new Error(`expected ${want} lines starting ${prefix}, got ${n}`);
  };
}

async function main(config: SizeConfig): Promise<void> {
  const logs = join(config.outDir, 'logs', `pairs-${config.pairs}`);
  mkdirSync(logs, { recursive: true });
  const labSeconds = await buildLab(config.pairs);
  const interfaces = interfaceCount();
  log(`${config.pairs} pairs (${interfaces} interfaces) up in ${labSeconds.toFixed(1)} s`);

  const listener = await Listener.start(config.listenerBinary, 'listen', RCVBUF);
  const launch = config.exporterMain !== undefined ? { main: config.exporterMain } : {};
  const running: Running[] = [];
  try {
    // Start to ready, readyRuns times; the last one stays up.
    const ready: number[] = [];
    let ours: Running | undefined;
    for (let i = 0; i < config.readyRuns; i++) {
      await ours?.stop();
      ours = await startOurs(OURS_PORT, join(logs, 'linkstate-exporter.log'), [], config.exporterNodeOptions, undefined, launch);
      ready.push(ours.readyMs);
      await sleep(200);
    }
    if (ours === undefined) throw new Error('readyRuns must be at least 1');
    running.push(ours);
    log(`ours ready in ${ready.map((r) => r.toFixed(0)).join(', ')} ms`);

    const oursClient = new ScrapeClient(ours.base);
    const check = countLines('linkstate_up{', interfaces);
    const oursPlain = await measureScrapes(oursClient, '/metrics', PLAIN_HEADERS, { count: config.scrapes, minCount: config.scrapes, budgetMs: 0, check });
    const oursProm = await measureScrapes(oursClient, '/metrics', PROMETHEUS_HEADERS, { count: config.scrapes, minCount: config.scrapes, budgetMs: 0, check });
    const oursScrapedAt = monoMs();
    const oursMemory = memory(ours.pid);
    log(`ours scrape median plain ${oursPlain.median.toFixed(2)} ms, prometheus ${oursProm.median.toFixed(2)} ms, rss ${(oursMemory.rss / 1e6).toFixed(1)} MB`);

    const ne: Partial<Record<NodeExporterConfig, { run: Running; plain: ScrapeSeries; prometheus: ScrapeSeries; memory: Memory }>> = {};
    if (!config.skipNodeExporter) {
      for (const neConfig of ['netclass', 'netclass+netdev'] as const) {
        const r = await startNodeExporter(neConfig, NE_PORTS[neConfig], join(logs, `node-exporter-${neConfig}.log`));
        running.push(r);
        const client = new ScrapeClient(r.base);
        const opts = { count: config.neScrapes, minCount: config.neMinScrapes, budgetMs: config.neBudgetSeconds * 1000, check: countLines('node_network_up{', interfaces) };
        const plain = await measureScrapes(client, '/metrics', PLAIN_HEADERS, opts);
        const prometheus = await measureScrapes(client, '/metrics', PROMETHEUS_HEADERS, opts);
        client.close();
        ne[neConfig] = { run: r, plain, prometheus, memory: memory(r.pid) };
        log(`node_exporter ${neConfig}: median plain ${plain.median.toFixed(0)} ms (n=${plain.n}), prometheus ${prometheus.median.toFixed(0)} ms (n=${prometheus.n})`);
      }
    }

    // Idle: every process at once, nobody scraping, connections closed. The window opens at least
    // IDLE_AFTER_SCRAPES_MS after our last scrape: V8's memory reducer compacts a young process's
    // heap once, seconds after the scrapes, and that is the scrapes' cost, not an idle timer.
    oursClient.close();
    await sleep(Math.max(2_000, oursScrapedAt + IDLE_AFTER_SCRAPES_MS - monoMs()));
    const pids: Record<string, number> = { ours: ours.pid, listener: listener.pid };
    for (const [k, v] of Object.entries(ne)) pids[k] = v.run.pid;
    log(`idle for ${config.idleSeconds} s`);
    const idle = await measureIdle(pids, config.idleSeconds);
    const afterIdle: Record<string, Memory> = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, memory(pid)]));
    log(`idle: ours ${idle['ours']?.cpuPercent.toFixed(3)} % CPU, ${idle['ours']?.wakeupsPerSecond.toFixed(2)} wake-ups/s, rss then ${((afterIdle['ours']?.rss ?? 0) / 1e6).toFixed(1)} MB`);
    for (const v of Object.values(ne)) await v.run.stop();

    const stormClient = new ScrapeClient(ours.base);
    const stormCost = await measureStormCost(stormClient, ours.pid, listener, config.stormFlips);
    log(
      `storm: ${stormCost.messagesPerSecond.toFixed(0)} msg/s; per 100k messages ours ${stormCost.ours.cpuSecondsPer100k.toFixed(3)} s, ` +
        `C ${stormCost.listener.cpuSecondsPer100k.toFixed(3)} s (${stormCost.cpuRatio.toFixed(2)}x); ENOBUFS ours ${stormCost.ours.enobufs}, C ${stormCost.listener.enobufs}`,
    );
    await sleep(500);
    const stormExact = await measureStormExact(stormClient, config.listenerBinary, config.stormFlips, listener);
    log(
      `storm: exact ${stormExact.exactAfterMs.toFixed(1)} ms after its end (${stormExact.polls} polls, first ${stormExact.firstPollMs.toFixed(1)} ms; ` +
        `the C listener's last link message ${stormExact.kernelLastMs.toFixed(1)} ms after it)`,
    );
    const peakRssAfterStorms = memory(ours.pid).peakRss;
    stormClient.close();

    // Single changes: a fresh instance whose log lines the harness reads (see steps/latency.ts).
    await ours.stop();
    running.splice(running.indexOf(ours), 1);
    const feed = new LineFeed();
    const watched = await startOurs(OURS_PORT, join(logs, 'linkstate-exporter-latency.log'), [], config.exporterNodeOptions, (line) => feed.push(line), launch);
    running.push(watched);
    const watch = await Listener.start(config.listenerBinary, 'watch', RCVBUF);
    // Its stamp is the reference: at SCHED_FIFO it reads a message when the kernel queues it, not
    // when the scheduler gets round to it (at normal priority some changes showed as applied
    // before the kernel sent them).
    await run('chrt', ['--fifo', '--pid', '50', String(watch.pid)]);
    const latencyClient = new ScrapeClient(watched.base);
    await latencyClient.get('/metrics'); // first render
    // The exporter on one core, the harness (and the `ip` it spawns) on the other: unpinned, a few
    // changes in 200 waited milliseconds for a core the harness's own work held.
    const cpus = allowedCpus();
    const pinning = await pinApart([watched.pid], cpus, log);
    if (pinning !== null) log(`single change: the exporter on CPU ${pinning.exportersCpu}, the harness on CPU ${pinning.harnessCpu}`);
    const latency = await measureLatency(latencyClient, watch, feed, config.pairs, config.changes);
    if (pinning !== null) await unpinHarness(cpus);
    latencyClient.close();
    await watch.stop();
    await watched.stop();
    running.splice(running.indexOf(watched), 1);
    log(
      `single change: applied p50 ${latency.applied.median.toFixed(2)} ms, p99 ${latency.applied.p99.toFixed(2)} ms; ` +
        `visible p50 ${latency.visible.median.toFixed(2)} ms, p99 ${latency.visible.p99.toFixed(2)} ms (${latency.failures} failures)`,
    );

    // What the log line per carrier change costs: the same storm, exporter at --log.level=warn.
    const quiet = await startOurs(OURS_PORT, join(logs, 'linkstate-exporter-warn.log'), ['--log.level=warn'], config.exporterNodeOptions, undefined, launch);
    running.push(quiet);
    const quietClient = new ScrapeClient(quiet.base);
    await sleep(500);
    const stormCostWarnLog = await measureStormCost(quietClient, quiet.pid, listener, config.stormFlips);
    quietClient.close();
    log(
      `storm at --log.level=warn: per 100k messages ours ${stormCostWarnLog.ours.cpuSecondsPer100k.toFixed(3)} s, ` +
        `C ${stormCostWarnLog.listener.cpuSecondsPer100k.toFixed(3)} s (${stormCostWarnLog.cpuRatio.toFixed(2)}x); ENOBUFS ours ${stormCostWarnLog.ours.enobufs}`,
    );

    const nodeExporter: Partial<Record<NodeExporterConfig, ExporterResult>> = {};
    for (const [k, v] of Object.entries(ne) as Array<[NodeExporterConfig, NonNullable<(typeof ne)[NodeExporterConfig]>]>) {
      nodeExporter[k] = {
        plain: v.plain,
        prometheus: v.prometheus,
        memory: v.memory,
        ...(afterIdle[k] ? { memoryAfterIdle: afterIdle[k] } : {}),
        ...(idle[k] ? { idle: idle[k] } : {}),
      };
    }
    const result: SizeResult = {
      pairs: config.pairs,
      interfaces,
      labSeconds,
      ours: {
        readyMs: summarize(ready),
        plain: oursPlain,
        prometheus: oursProm,
        memory: oursMemory,
        ...(afterIdle['ours'] ? { memoryAfterIdle: afterIdle['ours'] } : {}),
        ...(idle['ours'] ? { idle: idle['ours'] } : {}),
        peakRssAfterStorms,
      },
      nodeExporter,
      ...(idle['listener'] ? { listenerIdle: idle['listener'] } : {}),
      stormCost,
      stormExact,
      stormCostWarnLog,
      latency,
    };
    writeFileSync(join(config.outDir, `pairs-${config.pairs}.json`), JSON.stringify(result, null, 1) + '\n');
  } finally {
    for (const r of running) await r.stop();
    await listener.stop();
  }
}

runLabStep<SizeConfig>('size-run.js', main);
