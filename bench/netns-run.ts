// Step `netns`: --collector.netns at N namespaces x L links (default 100 x 4), measured from inside
// the bench's lab network namespace (run.ts starts this under `ip netns exec`), against the same
// number of links all in the exporter's own namespace. Writes netns.json.
//   1. host-only: the lab alone holds P + 1 + N(L + 1) links (lib/netns-lab.ts); the exporter with
//      default flags: start to ready, scrapes (wall and CPU per scrape), the storm's CPU per message;
//   2. namespaces: N namespaces (`ip netns add`, under a tmpfs of our own on /run/netns) with L
//      peers each moved in from the lab; the exporter with --collector.netns
//      --collector.netns.paths=/run/netns: start to ready (the ready line's namespaces = N + 1),
//      the same scrapes and the same storm (the same lab ends flipped, one in each of min(N, 50)
//      namespaces: now each one's peer is in another namespace, and its messages come through
//      NETLINK_LISTEN_ALL_NSID).
// After each storm every exported carrier_changes equals the kernel's (lab sysfs, and each
// namespace's through `ip -all netns exec`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOurs, type Running, type LaunchOptions } from './lib/exporters.js';
import { ScrapeClient, bodyText, PLAIN_HEADERS, PROMETHEUS_HEADERS } from './lib/http.js';
import { memory, runSeconds, type Memory } from './lib/proc.js';
import { monoMs, sleep } from './lib/clock.js';
import { summarize, type Summary } from './lib/stats.js';
import { sumSamples } from './lib/exposition.js';
import { ipBatch } from './lib/lab.js';
import { measureScrapes, type ScrapeSeries } from './steps/scrapes.js';
import { health, waitQuiet } from './steps/storm.js';
import {
  buildHostLab,
  deleteNamespaces,
  differences,
  expectedInterfaces,
  exportedCarrierChanges,
  kernelCarrierChanges,
  moveIntoNamespaces,
  nsStormLines,
  privateRunNetns,
  stormPairs,
  type NetnsLabShape,
} from './lib/netns-lab.js';
import { runLabStep } from './lib/lab-step.js';

export interface NetnsConfig extends NetnsLabShape {
  readonly outDir: string;
  readonly scrapes: number;
  readonly readyRuns: number;
  /** down+up flips of the N storm lnks */
  readonly stormFlips: number;
  readonly exporterNodeOptions: string;
  readonly exporterMain?: string;
}

export interface ScrapeCost extends ScrapeSeries {
  /** CPU (utime + stime) of the exporter per timed scrape, ms */
  readonly cpuMsPerScrape: number;
  /** median wall ms per scrape ÷ interfaces, µs */
  readonly wallUsPerLink: number;
  /** CPU ms per scrape ÷ interfaces, µs */
  readonly cpuUsPerLink: number;
}

export interface NsStormCost {
  readonly flips: number;
  readonly requests: number;
  readonly pairsPerRequest: number;
  readonly wallSeconds: number;
  readonly messages: number;
  readonly overruns: number;
  readonly dropped: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPer100k: number;
  /** every exported carrier_changes equal to the kernel's after the storm */
  readonly exact: boolean;
  readonly mismatches: readonly string[];
}

export interface NetnsPhase {
  readonly args: readonly string[];
  readonly interfaces: number;
  /** linkstate_up samples carrying a netns label */
  readonly otherNamespaceInterfaces: number;
  /** linkstate_exporter_namespaces (absent without --collector.netns) */
  readonly namespacesGauge?: number;
  /** the `namespaces=` of the "link dump applied, ready" line of each start */
  readonly readyLineNamespaces: readonly (number | undefined)[];
  readonly readyMs: Summary;
  /** from the exporter's "started" line to its ready line (their ts, 1 ms resolution): the dumps, without Node's start-up */
  readonly dumpPhaseMs: Summary;
  readonly plain: ScrapeCost;
  readonly prometheus: ScrapeCost;
  readonly memory: Memory;
  /** the median (by CPU per 100k messages) of the phase's storms; exact only if every storm was */
  readonly storm: NsStormCost;
  /** CPU s per 100k messages of each storm, in order (absent in results of one storm) */
  readonly stormsPer100k?: readonly number[];
}

export interface NetnsRunResult extends NetnsLabShape {
  readonly interfaces: number;
  readonly hostLabSeconds: number;
  readonly namespacesLabSeconds: number;
  readonly host: NetnsPhase;
  readonly netns: NetnsPhase;
  /** netns ÷ host */
  readonly ratios: {
    readonly wallPerLinkPlain: number;
    readonly wallPerLinkPrometheus: number;
    readonly cpuPerLinkPlain: number;
    readonly cpuPerLinkPrometheus: number;
    readonly stormCpuPerMessage: number;
  };
}

const PORT = 10074;
const STORMS_PER_PHASE = 3;
const T0 = Date.now();

function log(msg: string): void {
  process.stderr.write(`bench: [${((Date.now() - T0) / 1000).toFixed(1)} s] ${msg}\n`);
}

async function scrapeCost(client: ScrapeClient, pid: number, headers: Readonly<Record<string, string>>, count: number, interfaces: number, check: (text: string) => void): Promise<ScrapeCost> {
  // CPU is read around the whole series, measureScrapes' untimed warm-up scrape included, in the
  // scheduler's nanoseconds: a series is a few hundred ms, tens of 10 ms ticks.
  const c0 = runSeconds(pid);
  const series = await measureScrapes(client, '/metrics', headers, { count, minCount: count, budgetMs: Number.POSITIVE_INFINITY, check });
  const cpuMsPerScrape = ((runSeconds(pid) - c0) * 1000) / (series.n + 1);
  return {
    ...series,
    cpuMsPerScrape,
    wallUsPerLink: (series.median * 1000) / interfaces,
    cpuUsPerLink: (cpuMsPerScrape * 1000) / interfaces,
  };
}

async function stormCost(client: ScrapeClient, pid: number, shape: NetnsLabShape, flips: number, inNamespaces: boolean): Promise<NsStormCost> {
  const text0 = bodyText(await client.get('/metrics', PLAIN_HEADERS, true));
  const dropped0 = sumSamples(text0, 'linkstate_exporter_netlink_dropped_total');
  const h0 = await health(client);
  const [c0] = (await waitQuiet([pid], 300, 5_000)) as [number];
  const t0 = monoMs();
  await ipBatch(nsStormLines(flips));
  const wallSeconds = (monoMs() - t0) / 1000;
  const [c1] = (await waitQuiet([pid], 500, 30_000)) as [number];
  const h1 = await health(client);
  const kernel = await kernelCarrierChanges(inNamespaces);
  let mismatches: string[] = [];
  // The kernel's counters are final once `ip -batch` has exited; the exporter's, once it is idle.
  for (let attempt = 0; attempt < 20; attempt++) {
    const text = bodyText(await client.get('/metrics', PLAIN_HEADERS, true));
    mismatches = differences(exportedCarrierChanges(text), kernel);
    if (attempt === 0) {
      const dropped = sumSamples(text, 'linkstate_exporter_netlink_dropped_total') - dropped0;
      if (dropped !== 0) log(`storm: ${dropped} messages dropped`);
    }
    if (mismatches.length === 0) break;
    await sleep(100);
  }
  const text1 = bodyText(await client.get('/metrics', PLAIN_HEADERS, true));
  const messages = h1.messages - h0.messages;
  const cpu = c1 - c0;
  return {
    flips,
    requests: flips * 2,
    pairsPerRequest: stormPairs(shape),
    wallSeconds,
    messages,
    overruns: h1.overruns - h0.overruns,
    dropped: sumSamples(text1, 'linkstate_exporter_netlink_dropped_total') - dropped0,
    cpuSeconds: cpu,
    cpuSecondsPer100k: messages > 0 ? (cpu / messages) * 100_000 : Number.NaN,
    exact: mismatches.length === 0,
    mismatches,
  };
}

async function measurePhase(name: string, config: NetnsConfig, args: readonly string[], interfaces: number, inNamespaces: boolean, logs: string): Promise<NetnsPhase> {
  const launch: LaunchOptions = config.exporterMain !== undefined ? { main: config.exporterMain } : {};
  const ready: number[] = [];
  const readyLineNamespaces: (number | undefined)[] = [];
  const dumpPhase: number[] = [];
  let ours: Running | undefined;
  try {
    for (let i = 0; i < config.readyRuns; i++) {
      await ours?.stop();
      let readyLine: string | undefined;
      let startedLine: string | undefined;
      ours = await startOurs(PORT, join(logs, `linkstate-exporter-${name}.log`), args, config.exporterNodeOptions, (line) => {
        if (startedLine === undefined && line.includes('msg="linkstate-exporter started"')) startedLine = line;
        if (readyLine === undefined && line.includes('msg="link dump applied, ready"')) readyLine = line;
      }, launch);
      ready.push(ours.readyMs);
      // The line is written before /-/ready answers 200; give the pipe a moment.
      for (let k = 0; k < 50 && readyLine === undefined; k++) await sleep(10);
      const m = readyLine === undefined ? null : /(?:^| )namespaces=(\d+)/.exec(readyLine);
      readyLineNamespaces.push(m ? Number(m[1]) : undefined);
      const ts = (line: string | undefined): number => Date.parse(/^ts=(\S+)/.exec(line ?? '')?.[1] ?? '');
      dumpPhase.push(ts(readyLine) - ts(startedLine));
      log(`${name}: ready in ${ours.readyMs.toFixed(0)} ms, ${dumpPhase[dumpPhase.length - 1]} ms from the started line (${readyLine ?? 'no ready line seen'})`);
    }
    if (ours === undefined) throw new Error('no exporter started');
    // Settled first: the ethtool queries after ready (own namespace only) re-render what they fill in.
    await waitQuiet([ours.pid], 500, 20_000);
    const client = new ScrapeClient(ours.base);
    const first = bodyText(await client.get('/metrics', PLAIN_HEADERS, true));
    const up = [...first.matchAll(/^linkstate_up\{([^}]*)\} /gm)];
    const other = up.filter((m) => /(?:^|,)netns="/.test(m[1] as string)).length;
    const gaugeMatch = /^linkstate_exporter_namespaces (\S+)$/m.exec(first);
    const check = (text: string): void => {
      const n = (text.match(/^linkstate_up\{/gm) ?? []).length;
      if (n !== interfaces) throw new Error(`${name}: ${n} linkstate_up samples, expected ${interfaces}`);
    };
    check(first);
    const plain = await scrapeCost(client, ours.pid, PLAIN_HEADERS, config.scrapes, interfaces, check);
    const prometheus = await scrapeCost(client, ours.pid, PROMETHEUS_HEADERS, config.scrapes, interfaces, () => undefined);
    const mem = memory(ours.pid);
    log(
      `${name}: ${interfaces} interfaces (${other} in other namespaces): scrape median ${plain.median.toFixed(2)} ms plain / ${prometheus.median.toFixed(2)} ms gzip; ` +
        `CPU ${plain.cpuMsPerScrape.toFixed(2)} / ${prometheus.cpuMsPerScrape.toFixed(2)} ms per scrape`,
    );
    // One storm's CPU moves by tens of percent from one to the next (its overruns and their
    // resync dumps): the phase is judged on the median of STORMS_PER_PHASE.
    const storms: NsStormCost[] = [];
    for (let i = 0; i < STORMS_PER_PHASE; i++) {
      await sleep(1_000);
      const s = await stormCost(client, ours.pid, config, config.stormFlips, inNamespaces);
      storms.push(s);
      log(
        `${name}: storm ${s.requests} requests x ${s.pairsPerRequest} pairs in ${s.wallSeconds.toFixed(1)} s: ${s.messages} messages, ${s.overruns} overruns, ` +
          `CPU ${s.cpuSeconds.toFixed(2)} s = ${s.cpuSecondsPer100k.toFixed(3)} s per 100k messages; exact ${s.exact ? 'yes' : `NO (${s.mismatches.join('; ')})`}`,
      );
    }
    client.close();
    const median = [...storms].sort((a, b) => a.cpuSecondsPer100k - b.cpuSecondsPer100k)[storms.length >> 1] as NsStormCost;
    const storm = { ...median, exact: storms.every((s) => s.exact), mismatches: storms.flatMap((s) => s.mismatches) };
    return {
      args,
      interfaces,
      otherNamespaceInterfaces: other,
      ...(gaugeMatch ? { namespacesGauge: Number(gaugeMatch[1]) } : {}),
      readyLineNamespaces,
      readyMs: summarize(ready),
      dumpPhaseMs: summarize(dumpPhase),
      plain,
      prometheus,
      memory: mem,
      storm,
      stormsPer100k: storms.map((s) => s.cpuSecondsPer100k),
    };
  } finally {
    await ours?.stop();
  }
}

async function main(config: NetnsConfig): Promise<void> {
  const logs = join(config.outDir, 'logs', 'netns');
  mkdirSync(logs, { recursive: true });
  await privateRunNetns();
  const interfaces = expectedInterfaces(config);
  const hostLabSeconds = await buildHostLab(config);
  log(`host-only lab: ${interfaces} interfaces up in ${hostLabSeconds.toFixed(1)} s`);
  const host = await measurePhase('host', config, [], interfaces, false, logs);
  let namespacesLabSeconds = Number.NaN;
  let netns: NetnsPhase;
  try {
    namespacesLabSeconds = await moveIntoNamespaces(config);
    log(`namespaces lab: ${config.namespaces} namespaces x ${config.linksPerNamespace} links, ${interfaces} interfaces in all, up in ${namespacesLabSeconds.toFixed(1)} s`);
    netns = await measurePhase('netns', config, ['--collector.netns', '--collector.netns.paths=/run/netns'], interfaces, true, logs);
  } finally {
    await deleteNamespaces(config);
  }
  const result: NetnsRunResult = {
    namespaces: config.namespaces,
    linksPerNamespace: config.linksPerNamespace,
    interfaces,
    hostLabSeconds,
    namespacesLabSeconds,
    host,
    netns,
    ratios: {
      wallPerLinkPlain: netns.plain.wallUsPerLink / host.plain.wallUsPerLink,
      wallPerLinkPrometheus: netns.prometheus.wallUsPerLink / host.prometheus.wallUsPerLink,
      cpuPerLinkPlain: netns.plain.cpuUsPerLink / host.plain.cpuUsPerLink,
      cpuPerLinkPrometheus: netns.prometheus.cpuUsPerLink / host.prometheus.cpuUsPerLink,
      stormCpuPerMessage: netns.storm.cpuSecondsPer100k / host.storm.cpuSecondsPer100k,
    },
  };
  const r = result.ratios;
  log(
    `netns ÷ host: scrape wall per link ${r.wallPerLinkPlain.toFixed(2)}x plain, ${r.wallPerLinkPrometheus.toFixed(2)}x gzip; CPU per link ${r.cpuPerLinkPlain.toFixed(2)}x / ${r.cpuPerLinkPrometheus.toFixed(2)}x; ` +
      `storm CPU per message ${r.stormCpuPerMessage.toFixed(2)}x; ready ${netns.readyMs.median.toFixed(0)} ms (namespaces ${netns.readyLineNamespaces.join(',')})`,
  );
  writeFileSync(join(config.outDir, 'netns.json'), JSON.stringify(result, null, 1) + '\n');
}

runLabStep<NetnsConfig>('netns-run.js', main);
