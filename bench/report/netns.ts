// The netns step's table and target rows (bench/netns-run.ts).
import type { BenchResults } from './results.js';
import type { NetnsPhase } from '../netns-run.js';

const f2 = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(2));
const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

function phaseRow(name: string, p: NetnsPhase): string {
  const s = p.storm;
  return (
    `| ${name} | ${p.args.length === 0 ? 'default' : p.args.map((a) => `\`${a}\``).join(' ')} | ${int(p.interfaces)} (${int(p.otherNamespaceInterfaces)}) | ${p.namespacesGauge ?? '–'} | ` +
    `${f2(p.readyMs.median)} (max ${f2(p.readyMs.max)}, n=${p.readyMs.n}) | ${p.dumpPhaseMs ? f2(p.dumpPhaseMs.median) : '–'} | ` +
    `${f2(p.plain.median)} / ${f2(p.prometheus.median)} | ${f2(p.plain.cpuMsPerScrape)} / ${f2(p.prometheus.cpuMsPerScrape)} | ` +
    `${f2(p.plain.wallUsPerLink)} / ${f2(p.prometheus.wallUsPerLink)} | ${(p.plain.textBytes / 1024).toFixed(0)} / ${(p.prometheus.bytes / 1024).toFixed(0)} | ${mb(p.memory.rss)} | ` +
    `${int(s.messages)} in ${s.wallSeconds.toFixed(1)} s | ${s.cpuSeconds.toFixed(2)} | ${s.cpuSecondsPer100k.toFixed(3)} | ${s.overruns} | ${s.exact ? 'yes' : '**no**'} |`
  );
}

export function renderNetns(results: BenchResults): string[] {
  const n = results.netns;
  if (n === undefined) return [];
  const r = n.ratios;
  return [
    '',
    `### Every network namespace (\`--collector.netns\`): ${n.namespaces} namespaces × ${n.linksPerNamespace} links against the same links in one namespace`,
    '',
    `Inside the lab namespace, under a tmpfs of the bench's own on \`/run/netns\`. *host*: ${int(n.interfaces)} interfaces all in the exporter's namespace, default flags. ` +
      `*netns*: ${n.namespaces} namespaces made with \`ip netns add\`, ${n.linksPerNamespace} veth peers moved into each from the lab (plus each one's lo), the lab keeping their other ends: ` +
      `the same ${int(n.interfaces)} interfaces, ${int(n.netns.otherNamespaceInterfaces)} of them in other namespaces; the exporter with \`--collector.netns --collector.netns.paths=/run/netns\`. ` +
      `Ready = spawn to the first 200 from \`/-/ready\` (every namespace dumped); started → ready line = the ts of the exporter's "linkstate-exporter started" line to its "link dump applied, ready" line (the dumps, without Node's own start-up); namespaces = \`linkstate_exporter_namespaces\` (the ready line said ${n.netns.readyLineNamespaces.map((v) => v ?? '–').join(', ')}). ` +
      `Scrapes: ${n.netns.plain.n} back to back per variant, plain / Prometheus (gzip) headers; CPU = the threads' time on CPU over the series (schedstat, ns) ÷ scrapes. ` +
      `Storm: ${n.netns.stormsPer100k === undefined ? 'one' : `${n.netns.stormsPer100k.length} in a row, each one`} \`ip -batch\` of ${int(n.netns.storm.requests)} requests flipping ${n.netns.storm.pairsPerRequest} lab ends (the first pair of ${n.netns.storm.pairsPerRequest} namespaces spread over all ${n.namespaces}) down and up, nobody scraping; ` +
      'CPU from just before it until idle for 0.5 s ÷ `linkstate_exporter_netlink_messages_total` (the table shows the storm of median CPU per message; every storm\'s figure below it); exact = every exported `carrier_changes` equals the kernel\'s (lab sysfs and each namespace\'s) after each storm.',
    '',
    '| run | flags | interfaces (in other namespaces) | namespaces | ready ms | started → ready line ms | scrape median ms, plain / gzip | CPU ms per scrape, plain / gzip | µs per link (median), plain / gzip | body KiB, plain / gzip | RSS MB | storm messages | storm CPU s | CPU s per 100k messages | overruns | exact |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    phaseRow('host', n.host),
    phaseRow('netns', n.netns),
    '',
    `netns ÷ host: scrape wall per link ${f2(r.wallPerLinkPlain)}× plain, ${f2(r.wallPerLinkPrometheus)}× gzip; scrape CPU per link ${f2(r.cpuPerLinkPlain)}× plain, ${f2(r.cpuPerLinkPrometheus)}× gzip; storm CPU per message ${f2(r.stormCpuPerMessage)}×.`,
    ...(n.host.stormsPer100k !== undefined && n.netns.stormsPer100k !== undefined
      ? ['', `Every storm's CPU s per 100k messages: host ${n.host.stormsPer100k.map((v) => v.toFixed(3)).join(', ')}; netns ${n.netns.stormsPer100k.map((v) => v.toFixed(3)).join(', ')}.`]
      : []),
  ];
}

/** Target rows for the Targets table: [target, measured, ok]. */
export function netnsTargets(results: BenchResults): Array<[string, string, boolean | undefined]> {
  const n = results.netns;
  if (n === undefined) return [];
  const p = n.netns;
  const expected = n.namespaces + 1;
  const size = `${n.namespaces} namespaces × ${n.linksPerNamespace} links`;
  const r = n.ratios;
  return [
    [
      `${size}: ready ≤ 1 s after start, every namespace counted`,
      `${f2(p.readyMs.median)} ms (max ${f2(p.readyMs.max)}); namespaces ${p.namespacesGauge ?? '–'}, ready line ${p.readyLineNamespaces.map((v) => v ?? '–').join(', ')} (expected ${expected})`,
      p.readyMs.max <= 1000 && p.namespacesGauge === expected && p.readyLineNamespaces.every((v) => v === expected),
    ],
    [
      `${size}: scrape cost per link no worse than in the host namespace (judged on CPU per scrape, plain and gzip; median wall for reference)`,
      `CPU ${f2(r.cpuPerLinkPlain)}× plain, ${f2(r.cpuPerLinkPrometheus)}× gzip (wall ${f2(r.wallPerLinkPlain)}×, ${f2(r.wallPerLinkPrometheus)}×)`,
      // "no worse", read with the 5 % that a shared machine allows
      r.cpuPerLinkPlain <= 1.05 && r.cpuPerLinkPrometheus <= 1.05,
    ],
    [
      `${size}: storm CPU per message ≤ 1.2× host-only, exact afterwards (overruns shown: each costs a resync dump, of every namespace in the netns run)`,
      `${f2(r.stormCpuPerMessage)}× (${p.storm.cpuSecondsPer100k.toFixed(3)} vs ${n.host.storm.cpuSecondsPer100k.toFixed(3)} s per 100k); exact ${p.storm.exact ? 'yes' : 'no'}, overruns ${p.storm.overruns} / ${n.host.storm.overruns}`,
      r.stormCpuPerMessage <= 1.2 && p.storm.exact && n.host.storm.exact,
    ],
  ];
}
