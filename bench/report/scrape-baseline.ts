// The scrape-baseline step's tables and target rows (bench/scrape-baseline-run.ts).
import type { BenchResults } from './results.js';
import type { BaselineExporter, BaselineRatio, BaselineSeries, ScrapeBaselineResult } from '../scrape-baseline-run.js';

const f2 = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(2));
const x = (v: number | undefined): string => `${f2(v)}×`;
const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);
const kib = (bytes: number): string => (bytes >= 2 ** 20 ? `${mib(bytes)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`);

/** The ratio the target is judged on. */
export const SCRAPE_BASELINE_TARGET = 1.1;
/** The interfaces the target is stated for. */
const TARGET_INTERFACES = 10_001;

const NAMES = {
  baseline: 'baseline',
  current: 'this build',
  currentNoEthtool: 'this build, ethtool off',
} as const;

function flags(e: BaselineExporter): string {
  return e.args.length === 0 ? 'default' : e.args.map((a) => `\`${a}\``).join(' ');
}

function seriesRow(name: string, e: BaselineExporter, headers: string, s: BaselineSeries): string {
  return (
    `| ${name} | ${flags(e)} | ${headers} | ${f2(s.median)} | ${f2(s.p90)} | ${f2(s.min)} / ${f2(s.max)} | ${mib(s.textBytes)} | ${kib(s.bytes)} | ` +
    `${f2(s.msPerMiB)} | ${f2(s.cpuMsPerScrape)} | ${f2(s.userMsPerScrape)} / ${f2(s.systemMsPerScrape)} | ${f2(s.cpuMsPerMiB)} |`
  );
}

/** min–max of the per-block median ratios ('–' for results without them) */
function spread(r: BaselineRatio): string {
  const b = r.blocks ?? [];
  return b.length === 0 ? '–' : `${f2(Math.min(...b))}–${f2(Math.max(...b))}×`;
}

function ratioRow(name: string, headers: string, r: BaselineRatio): string {
  return `| ${name} | ${headers} | **${x(r.median)}** | ${spread(r)} | ${x(r.pairedMedian)} | ${x(r.p90)} | ${x(r.textBytes)} | ${x(r.wireBytes)} | ${x(r.perMiB)} | ${x(r.cpu)} | ${x(r.user)} / ${x(r.system)} | ${x(r.cpuPerMiB)} |`;
}

export function renderScrapeBaseline(results: BenchResults): string[] {
  const b = results.scrapeBaseline;
  if (b === undefined) return [];
  const e = b.exporters;
  const rev = b.baselineRevision.slice(0, 7);
  const blocks = b.ratios.current.plain.blocks?.length ?? 0;
  const out = [
    '',
    `### Scrape against the baseline ${rev} (before the ethtool client), same lab, same run`,
    '',
    `${int(b.interfaces)} interfaces (${int(b.pairs)} veth pairs and lo). Three exporters at once on their own ports: the baseline, \`${b.baselineSubject}\`, ` +
      "checked out in a git worktree and built with its own lock file and tsc (default flags: it has no ethtool client); this build with default flags (ethtool on: the body " +
      `waited for until \`linkstate_speed_bytes\` was there for every veth, ${int(e.current.speedSamples)} samples); this build with \`--no-collector.ethtool\`. ` +
      `Per header set, ${b.warmups} untimed scrapes of each (the first body checked), then ${b.scrapes} rounds of one scrape of each in turn (the order rotated every round), ` +
      'one keep-alive connection per exporter, timed from the request to the body\'s last byte as in the sizes step. CPU = utime + stime of the exporter over its timed series ÷ scrapes (10 ms ticks); ' +
      'user / kernel = the two apart: utime is the exporter\'s own code, stime the kernel\'s work for it (copying the body into the socket, and loopback TCP, whose receive side runs in the sender\'s context), which grows with the body. ' +
      'Per MiB = per MiB of uncompressed body (the text the exporter produces; the gzip scrape sends less). ' +
      (b.pinning === undefined // results from before the step pinned
        ? ''
        : b.pinning === null
        ? 'Nothing pinned (one core, or taskset failed: see the log).'
        : `Pinned (taskset) once all three were settled: every thread of the exporters on CPU ${b.pinning.exportersCpu}, the harness on CPU ${b.pinning.harnessCpu}, so that a scrape's server and client never share a core and are not moved mid-transfer (bench/README.md).`),
    '',
    '| exporter | flags | headers | median ms | p90 ms | min / max ms | body MiB | on the wire | ms per MiB | CPU ms per scrape | user / kernel CPU ms | CPU ms per MiB |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const h of ['plain', 'prometheus'] as const) {
    const label = h === 'plain' ? 'plain' : 'Prometheus (gzip)';
    for (const v of ['baseline', 'current', 'currentNoEthtool'] as const) out.push(seriesRow(NAMES[v], e[v], label, e[v][h]));
  }
  out.push(
    '',
    `This build ÷ the baseline. Median = median ÷ median (the target's figure); within the run = the lowest and highest median ÷ median of ${blocks} consecutive stretches of ${Math.floor(b.scrapes / Math.max(1, blocks))} rounds (how far the figure moves within one run); ` +
      `paired = the median over the ${b.scrapes} rounds of each round's ratio.`,
    '',
    '| this build | headers | median | within the run | paired median | p90 | body | on the wire | per MiB | CPU | user / kernel CPU | CPU per MiB |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const v of ['current', 'currentNoEthtool'] as const) {
    for (const h of ['plain', 'prometheus'] as const) out.push(ratioRow(v === 'current' ? 'default flags (ethtool on)' : '`--no-collector.ethtool`', h === 'plain' ? 'plain' : 'Prometheus (gzip)', b.ratios[v][h]));
  }
  const l = b.load;
  out.push(
    '',
    `Machine during the timed series (${l.plain.cores} cores, /proc/stat, shares of all cores): plain series ${l.plain.busyPercent.toFixed(0)} % busy, of which the three exporters and the harness ${l.plain.oursPercent.toFixed(0)} %; ` +
      `gzip series ${l.prometheus.busyPercent.toFixed(0)} % busy, ours ${l.prometheus.oursPercent.toFixed(0)} %; 1-minute load average ${l.plain.loadavgBefore} before, ${l.prometheus.loadavgAfter} after; ` +
      `TCP segments retransmitted in the lab (loopback reordering, /proc/net/snmp): ${l.plain.retransSegs ?? '–'} plain, ${l.prometheus.retransSegs ?? '–'} gzip. ` +
      (l.plain.harnessCpuMsPerScrape === undefined
        ? ''
        : `The harness (node:http, the client of every scrape) used ${f2(l.plain.harnessCpuMsPerScrape)} ms of CPU per plain scrape and ${f2(l.prometheus.harnessCpuMsPerScrape)} ms per gzip scrape (averaged over the scrapes of all three): a plain scrape's time includes the client's reading of the body, which grows with it. `) +
      'Whatever else runs on the machine shares it with all three exporters alike, which is what the interleaving is for; the medians themselves are this run\'s only.',
  );
  return out;
}

function targetRow(b: ScrapeBaselineResult, h: 'plain' | 'prometheus'): [string, string, boolean | undefined] {
  const on = b.ratios.current[h];
  const off = b.ratios.currentNoEthtool[h];
  const base = b.exporters.baseline[h];
  const cur = b.exporters.current[h];
  const where = b.interfaces === TARGET_INTERFACES ? '' : ` (measured at ${int(b.interfaces)} interfaces, not 10,001: no verdict)`;
  return [
    `10,001 interfaces: scrape within ${SCRAPE_BASELINE_TARGET}× of the baseline's (${b.baselineRevision.slice(0, 7)}, before the ethtool client), same run, ${h === 'plain' ? 'plain' : 'gzip (Prometheus)'} ` +
      '(judged on the median ratio with default flags, ethtool on)',
    `ethtool on ${x(on.median)} (${f2(cur.median)} vs ${f2(base.median)} ms; ${spread(on)} within the run; body ${x(on.textBytes)}, per MiB ${x(on.perMiB)}, CPU ${x(on.cpu)}${on.user === undefined ? '' : `: user ${x(on.user)}, kernel ${x(on.system)}`}); ` +
      `\`--no-collector.ethtool\` ${x(off.median)} (body ${x(off.textBytes)}, per MiB ${x(off.perMiB)}, CPU ${x(off.cpu)})${where}`,
    b.interfaces === TARGET_INTERFACES ? on.median <= SCRAPE_BASELINE_TARGET : undefined,
  ];
}

/** Target rows for the Targets table: [target, measured, ok]. */
export function scrapeBaselineTargets(results: BenchResults): Array<[string, string, boolean | undefined]> {
  const b = results.scrapeBaseline;
  if (b === undefined) {
    if (results.scrapeBaselineError === undefined) return [];
    return [[`10,001 interfaces: scrape within ${SCRAPE_BASELINE_TARGET}× of the baseline's (before the ethtool client), same run`, `step failed: ${results.scrapeBaselineError.replace(/\|/g, '\\|').replace(/\n/g, ' ')}`, undefined]];
  }
  return [targetRow(b, 'plain'), targetRow(b, 'prometheus')];
}
