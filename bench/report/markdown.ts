// The results as Markdown tables (the generated part of BENCHMARKS.md) and the plot's series.
import type { BenchResults } from './results.js';
import type { SizeResult, ExporterResult } from '../size-run.js';
import type { PlotSeries } from './plot.js';

const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const mb = (bytes: number | undefined): string => (bytes === undefined ? '–' : (bytes / 1e6).toFixed(1));
const kib = (bytes: number | undefined): string => (bytes === undefined ? '–' : bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`);
const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(a / b >= 100 ? 0 : 1)}×`);

function scrapeCell(r: ExporterResult | undefined, which: 'plain' | 'prometheus'): string {
  const s = r?.[which];
  if (s === undefined) return '–';
  return `${ms(s.median)} / ${ms(s.p99)}${s.n < 20 ? ` (n=${s.n})` : ''}`;
}

function at(results: BenchResults, interfaces: number): SizeResult | undefined {
  return results.sizes.find((s) => s.interfaces === interfaces);
}

export function renderTables(results: BenchResults): string {
  const out: string[] = [];
  const sizes = results.sizes;
  out.push('### Scrape time (ms, median / p99)', '');
  out.push(
    'Plain: `Accept: */*`, no compression. Prometheus: the headers Prometheus 2.x sends (OpenMetrics preferred, `Accept-Encoding: gzip`). ' +
      `Each cell: ${results.settings['scrapes']} scrapes for linkstate-exporter; node_exporter up to ${results.settings['neScrapes']} scrapes or ${results.settings['neBudgetSeconds']} s per cell (n shown when fewer than 20).`,
    '',
  );
  out.push('| interfaces | linkstate-exporter plain | linkstate-exporter Prometheus | node_exporter netclass plain | netclass Prometheus | netclass+netdev plain | netclass+netdev Prometheus | netclass ÷ ours (plain) | netclass ÷ ours (Prometheus) |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of sizes) {
    const nc = s.nodeExporter['netclass'];
    const nd = s.nodeExporter['netclass+netdev'];
    out.push(
      `| ${int(s.interfaces)} | ${scrapeCell(s.ours, 'plain')} | ${scrapeCell(s.ours, 'prometheus')} | ${scrapeCell(nc, 'plain')} | ${scrapeCell(nc, 'prometheus')} | ` +
        `${scrapeCell(nd, 'plain')} | ${scrapeCell(nd, 'prometheus')} | ${ratio(nc?.plain.median, s.ours.plain.median)} | ${ratio(nc?.prometheus.median, s.ours.prometheus.median)} |`,
    );
  }
  out.push('', '### Body size (on the wire: plain / Prometheus)', '');
  out.push('| interfaces | linkstate-exporter | node_exporter netclass | node_exporter netclass+netdev |');
  out.push('|---:|---:|---:|---:|');
  for (const s of sizes) {
    const cell = (r: ExporterResult | undefined): string => (r ? `${kib(r.plain.bytes)} / ${kib(r.prometheus.bytes)}` : '–');
    out.push(`| ${int(s.interfaces)} | ${cell(s.ours)} | ${cell(s.nodeExporter['netclass'])} | ${cell(s.nodeExporter['netclass+netdev'])} |`);
  }
  out.push('', '### Memory, idle cost, start-up', '');
  out.push(
    `Memory in MB (10^6 bytes): RSS right after the scrapes, RSS at the end of the idle window, and peak RSS (VmHWM) so far. Idle: CPU time (utime+stime) over ${results.settings['idleSeconds']} s with nothing changing and nobody scraping ` +
      '(one clock tick = ' +
      `${(100 / 100 / Number(results.settings['idleSeconds'])).toFixed(3)} %), and wake-ups = context switches of all threads per second.`,
    '',
  );
  out.push('| interfaces | process | RSS after scrapes / after idle / peak MB | idle CPU % | idle wake-ups/s | start to ready ms (median of runs) |');
  out.push('|---:|---|---:|---:|---:|---:|');
  for (const s of sizes) {
    const row = (name: string, r: ExporterResult | undefined, extra: string): void => {
      if (!r) return;
      out.push(`| ${int(s.interfaces)} | ${name} | ${mb(r.memory.rss)} / ${mb(r.memoryAfterIdle?.rss)} / ${mb(r.memory.peakRss)} | ${r.idle ? r.idle.cpuPercent.toFixed(3) : '–'} | ${r.idle ? r.idle.wakeupsPerSecond.toFixed(2) : '–'} | ${extra} |`);
    };
    row('linkstate-exporter', s.ours, `${ms(s.ours.readyMs.median)} (n=${s.ours.readyMs.n}, max ${ms(s.ours.readyMs.max)})`);
    row('node_exporter netclass', s.nodeExporter['netclass'], '–');
    row('node_exporter netclass+netdev', s.nodeExporter['netclass+netdev'], '–');
    if (s.listenerIdle) out.push(`| ${int(s.interfaces)} | C listener | – | ${s.listenerIdle.cpuPercent.toFixed(3)} | ${s.listenerIdle.wakeupsPerSecond.toFixed(2)} | – |`);
  }
  out.push('', '### Flap storm', '');
  out.push(
    `One \`ip -batch\` flipping ${sizes[0]?.stormCost.peersPerRequest ?? 50} peers per request, ${int(sizes[0]?.stormCost.requests ?? 0)} requests; ` +
      'linkstate-exporter (default flags: 8 MiB receive buffer requested) and the C listener (same buffer) receive the same storm. ' +
      'CPU = utime+stime from just before the storm until both were idle for 0.5 s, nobody scraping. ' +
      'Exact after = from the end of the storm to the end of the first /metrics response whose carrier counters all equal the kernel\'s (second storm, scraped back to back).',
    '',
  );
  out.push('| interfaces | storm s | messages/s | messages ours / C | ENOBUFS ours / C | CPU s per 100k msgs ours / C | ratio | peak RSS after storms MB | exact after ms (first poll ms) |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of sizes) {
    const c = s.stormCost;
    const e = s.stormExact;
    out.push(
      `| ${int(s.interfaces)} | ${c.wallSeconds.toFixed(2)} | ${int(c.messagesPerSecond)} | ${int(c.ours.messages)} / ${int(c.listener.messages)} | ${c.ours.enobufs} / ${c.listener.enobufs} (2nd storm: ${e.overruns}) | ` +
        `${c.ours.cpuSecondsPer100k.toFixed(3)} / ${c.listener.cpuSecondsPer100k.toFixed(3)} | ${c.cpuRatio.toFixed(2)}× | ${mb(s.ours.peakRssAfterStorms)} | ${ms(e.exactAfterMs)} (${ms(e.firstPollMs)}) |`,
    );
  }
  out.push(
    '',
    'The same storm once more with the exporter at `--log.level=warn` (default flags otherwise), to show what the info line it logs per carrier change costs:',
    '',
  );
  out.push('| interfaces | messages ours / C | ENOBUFS ours / C | CPU s per 100k msgs ours / C | ratio |');
  out.push('|---:|---:|---:|---:|---:|');
  for (const s of sizes) {
    const c = s.stormCostWarnLog;
    out.push(
      `| ${int(s.interfaces)} | ${int(c.ours.messages)} / ${int(c.listener.messages)} | ${c.ours.enobufs} / ${c.listener.enobufs} | ` +
        `${c.ours.cpuSecondsPer100k.toFixed(3)} / ${c.listener.cpuSecondsPer100k.toFixed(3)} | ${c.cpuRatio.toFixed(2)}× |`,
    );
  }
  out.push('', '### Single carrier change (ms from the kernel\'s message)', '');
  out.push(
    'The C listener stamps the kernel\'s RTM_NEWLINK on its own RTMGRP_LINK socket (CLOCK_MONOTONIC). "applied": the `ts` of the exporter\'s ' +
      '`carrier changed` log line, written right after the change is in its table (ms resolution). "visible": end of a plain scrape sent as soon as ' +
      'the harness read that line, which must show the new `linkstate_carrier` value (an upper bound, it includes that whole scrape). Nobody else scrapes.',
    '',
  );
  out.push('| interfaces | changes | applied p50 | applied p99 | visible p50 | visible p99 | checking scrape median | failures |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of sizes) {
    const l = s.latency;
    out.push(`| ${int(s.interfaces)} | ${l.changes} | ${ms(l.applied.median)} | ${ms(l.applied.p99)} | ${ms(l.visible.median)} | ${ms(l.visible.p99)} | ${ms(l.scrapeMs.median)} | ${l.failures} |`);
  }
  out.push('', '### Targets', '');
  out.push(...renderTargets(results));
  return out.join('\n') + '\n';
}

function verdict(ok: boolean | undefined): string {
  return ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**';
}

function renderTargets(results: BenchResults): string[] {
  const big = at(results, 10_001);
  const out = ['| target | measured | verdict |', '|---|---|---|'];
  const row = (target: string, measured: string, ok: boolean | undefined): void => {
    out.push(`| ${target} | ${measured} | ${verdict(ok)} |`);
  };
  row('10,001 interfaces: median scrape ≤ 50 ms, plain', big ? `${ms(big.ours.plain.median)} ms` : '–', big && big.ours.plain.median <= 50);
  row('10,001 interfaces: median scrape ≤ 50 ms, gzip (Prometheus)', big ? `${ms(big.ours.prometheus.median)} ms` : '–', big && big.ours.prometheus.median <= 50);
  row(
    '10,001 interfaces: RSS ≤ 100 MB (after scrapes and after idle)',
    big ? `${mb(big.ours.memory.rss)} MB after scrapes, ${mb(big.ours.memoryAfterIdle?.rss)} MB after idle (peak ${mb(big.ours.memory.peakRss)} MB)` : '–',
    big && big.ours.memory.rss <= 100e6 && (big.ours.memoryAfterIdle?.rss ?? Infinity) <= 100e6,
  );
  row('10,001 interfaces: ready ≤ 2 s from start', big ? `${ms(big.ours.readyMs.median)} ms (max ${ms(big.ours.readyMs.max)})` : '–', big && big.ours.readyMs.max <= 2000);
  const ratios = results.sizes
    .filter((s) => s.nodeExporter['netclass'])
    .map((s) => ({ s, r: (s.nodeExporter['netclass'] as ExporterResult).plain.median / s.ours.plain.median, g: (s.nodeExporter['netclass'] as ExporterResult).prometheus.median / s.ours.prometheus.median }));
  const at1001 = ratios.find(({ s }) => s.interfaces === 1_001);
  row(
    '1,001 interfaces: scrape ≥ 100× faster than node_exporter netclass-only (plain and Prometheus; other sizes for reference)',
    ratios.map(({ s, r, g }) => `${int(s.interfaces)}: ${r.toFixed(0)}× plain, ${g.toFixed(0)}× Prometheus`).join('; ') || '–',
    at1001 === undefined ? undefined : at1001.r >= 100 && at1001.g >= 100,
  );
  const idle = results.sizes.map((s) => s.ours.idle).filter((i) => i !== undefined);
  row(
    'Idle: 0.0 % CPU over 30 s, no timers firing (judged on both: CPU < 0.05 % and < 0.1 wake-ups/s)',
    results.sizes.map((s) => `${int(s.interfaces)}: ${s.ours.idle ? `${s.ours.idle.cpuPercent.toFixed(3)} %, ${s.ours.idle.wakeupsPerSecond.toFixed(2)} wake-ups/s` : '–'}`).join('; '),
    idle.length === 0 ? undefined : idle.every((i) => i.cpuPercent < 0.05 && i.wakeupsPerSecond < 0.1),
  );
  row(
    'Storm: zero ENOBUFS (default receive buffer)',
    results.sizes.map((s) => `${int(s.interfaces)}: ${s.stormCost.ours.enobufs} + ${s.stormExact.overruns}`).join('; '),
    results.sizes.length === 0 ? undefined : results.sizes.every((s) => s.stormCost.ours.enobufs === 0 && s.stormExact.overruns === 0),
  );
  row(
    'Storm: counters exact within 100 ms of its end',
    results.sizes.map((s) => `${int(s.interfaces)}: ${ms(s.stormExact.exactAfterMs)} ms`).join('; '),
    results.sizes.length === 0 ? undefined : results.sizes.every((s) => s.stormExact.exactAfterMs <= 100),
  );
  row(
    'Storm: CPU per message ≤ 5× the C listener',
    results.sizes.map((s) => `${int(s.interfaces)}: ${s.stormCost.cpuRatio.toFixed(2)}×`).join('; '),
    results.sizes.length === 0 ? undefined : results.sizes.every((s) => s.stormCost.cpuRatio <= 5),
  );
  row(
    'Single change: p99 ≤ 5 ms from the kernel\'s message to /metrics (judged on "applied" + its 1 ms resolution: any scrape from then on shows it; "visible" adds one whole scrape)',
    results.sizes.map((s) => `${int(s.interfaces)}: applied ${ms(s.latency.applied.p99)}, visible ${ms(s.latency.visible.p99)} ms`).join('; '),
    results.sizes.length === 0 ? undefined : results.sizes.every((s) => s.latency.applied.p99 + 1 <= 5 && s.latency.failures === 0),
  );
  return out;
}

export function plotSeries(results: BenchResults): PlotSeries[] {
  const pick = (get: (s: SizeResult) => number | undefined): Array<readonly [number, number]> =>
    results.sizes.flatMap((s) => {
      const v = get(s);
      return v === undefined || Number.isNaN(v) ? [] : [[s.interfaces, v] as const];
    });
  return [
    { label: 'linkstate-exporter plain', color: '#1b7837', dashed: false, points: pick((s) => s.ours.plain.median) },
    { label: 'linkstate-exporter gzip', color: '#1b7837', dashed: true, points: pick((s) => s.ours.prometheus.median) },
    { label: 'node_exporter netclass plain', color: '#2166ac', dashed: false, points: pick((s) => s.nodeExporter['netclass']?.plain.median) },
    { label: 'node_exporter netclass gzip', color: '#2166ac', dashed: true, points: pick((s) => s.nodeExporter['netclass']?.prometheus.median) },
    { label: 'netclass+netdev plain', color: '#b2182b', dashed: false, points: pick((s) => s.nodeExporter['netclass+netdev']?.plain.median) },
    { label: 'netclass+netdev gzip', color: '#b2182b', dashed: true, points: pick((s) => s.nodeExporter['netclass+netdev']?.prometheus.median) },
  ];
}
