// The README and docs/: every flag the built exporter accepts and every metric it defines is in
// the README; the README keeps the order a newcomer reads it in and leaves the internals to
// docs/design.md; its inline alert is the shipped one; every relative link and anchor of the
// Markdown files resolves.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { exporterFlags } from '../helpers/exporter-flags.js';
import { REPO_ROOT, readRepoFile, repoPath } from '../helpers/repo.js';

const README = readRepoFile('README.md');

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(repoPath(dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(ext))
    .map((entry) => relative(REPO_ROOT, join(entry.parentPath, entry.name)));
}

/** Metric names the exporter defines: the 'linkstate_…' string literals of its metric modules. */
function definedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of [...filesUnder('src/metrics', '.ts'), ...filesUnder('src/netns', '.ts')]) {
    for (const match of readRepoFile(file).matchAll(/'(linkstate_[a-z_]+)'/g)) names.add(match[1]!);
  }
  return names;
}

/** GitHub's anchor for a heading: lower case, punctuation but '-' dropped, spaces to '-'. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = /^#{1,6}\s+(.+)$/.exec(line);
    if (!fenced && heading) out.add(slug(heading[1]!));
  }
  return out;
}

/** Relative Markdown links [text](target) outside code: the target as written. */
function relativeLinks(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
}

function h2(markdown: string): string[] {
  return [...markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
}

test('the README documents every flag of the built exporter', () => {
  const flags = exporterFlags();
  assert.ok(flags.has('--web.listen-address') && flags.has('--collector.netns.exclude'), `--help lists the flags: ${[...flags].join(' ')}`);
  const missing = [...flags].filter((flag) => !README.includes(`\`${flag}\``));
  assert.deepEqual(missing, [], 'flags missing from the README');
});

test('the README documents every metric the exporter defines', () => {
  const metrics = definedMetrics();
  // The extraction is real: every family of the golden /metrics is among the names found.
  const golden = [...readRepoFile('test/golden/metrics.prom').matchAll(/^# HELP (\S+)/gm)].map((m) => m[1]!);
  assert.ok(golden.length > 20);
  for (const name of golden) assert.ok(metrics.has(name), `${name} (golden) found in src/metrics`);
  for (const name of ['linkstate_netns_info', 'linkstate_carrier_down_reason', 'linkstate_exporter_build_info']) {
    assert.ok(metrics.has(name), `${name} found in src`);
  }
  const missing = [...metrics].filter((name) => !new RegExp(`\`${name}[\`{]`).test(README));
  assert.deepEqual(missing, [], 'metrics missing from the README');
});

test('the README reads in a newcomer\'s order, short, with the internals in docs/design.md', () => {
  const sections = h2(README);
  const order = [/node_exporter/, /^Install$/, /Scrape/, /Status page/, /^Flags$/, /^Metrics$/, /^Troubleshooting$/];
  const positions = order.map((pattern) => sections.findIndex((title) => pattern.test(title)));
  assert.ok(positions.every((p) => p >= 0), `sections: ${sections.join(' | ')}`);
  assert.deepEqual([...positions].sort((a, b) => a - b), positions, `in order: ${sections.join(' | ')}`);
  const lines = README.split('\n').length;
  assert.ok(lines < 250, `README.md has ${lines} lines`);
  // The install paths and the quick start of a fresh checkout.
  for (const text of ['.linux-amd64.tar.gz', '_amd64.deb', '.oci.tar', 'podman load', 'npm run release', 'npm ci && npm start', 'sudo .ci/run']) {
    assert.ok(README.includes(text), `README mentions ${text}`);
  }
  // node_exporter's flap counters are named, not denied.
  for (const name of ['node_network_carrier_changes_total', 'node_network_carrier_up_changes_total', 'node_network_carrier_down_changes_total']) {
    assert.ok(README.includes(name), name);
  }
  const design = readRepoFile('docs/design.md');
  for (const word of ['recvmmsg', 'libuv', 'poll handle', 'dump-session', 'deflate', 'headersTimeout', 'v8-flags']) {
    assert.ok(!README.includes(word), `README mentions the internal "${word}"`);
    assert.ok(design.includes(word), `docs/design.md explains "${word}"`);
  }
});

test('the README\'s alert is LinkCarrierDown of deploy/prometheus/alerts.yml, with the alerting set it joins on', () => {
  const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as { groups?: { rules: Record<string, unknown>[] }[] });
  const inline = blocks.flatMap((b) => b.groups ?? []).flatMap((g) => g.rules);
  assert.deepEqual(inline.map((r) => r['record'] ?? r['alert']), ['linkstate:alerting_links', 'LinkCarrierDown'], 'the alerting set and one alert inline');
  const rules = (parse(readRepoFile('deploy/prometheus/alerts.yml')) as { groups: { rules: Record<string, unknown>[] }[] }).groups.flatMap((g) => g.rules);
  const record = rules.find((rule) => rule['record'] === 'linkstate:alerting_links');
  const shipped = rules.find((rule) => rule['alert'] === 'LinkCarrierDown');
  assert.ok(record && shipped);
  for (const key of ['record', 'expr']) assert.deepEqual(inline[0]![key], record[key], `alerting set: ${key}`);
  for (const key of ['alert', 'expr', 'for', 'labels']) assert.deepEqual(inline[1]![key], shipped[key], key);
  const scrape = blocks.find((b) => 'scrape_configs' in b) as { scrape_configs?: { job_name: string }[] } | undefined;
  assert.match(scrape?.scrape_configs?.[0]?.job_name ?? '', /^linkstate-exporter/, 'the job LinkStateExporterDown selects');
});

test('every relative link and anchor in the Markdown files resolves', () => {
  const files = ['README.md', 'BENCHMARKS.md', 'RELIABILITY.md', ...filesUnder('docs', '.md')];
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(readFileSync(repoPath(file), 'utf8')));
    return anchorCache.get(file)!;
  };
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const target of relativeLinks(readRepoFile(file))) {
      checked++;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : relative(REPO_ROOT, join(repoPath(dirname(file)), decodeURIComponent(path)));
      if (!existsSync(repoPath(resolved))) broken.push(`${file}: ${target} (no ${resolved})`);
      else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
        broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
  }
  assert.ok(checked > 20, `links checked: ${checked}`);
  assert.deepEqual(broken, []);
  // The checker is real.
  assert.ok(anchorsOf('## Host with systemd\n').has('host-with-systemd'));
  assert.ok(!anchorsOf('```\n## Not a heading\n```\n').has('not-a-heading'));
  assert.deepEqual(relativeLinks('[a](docs/x.md#y) [b](https://example.org) `[c](z)`'), ['docs/x.md#y']);
});
