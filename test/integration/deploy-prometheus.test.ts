// deploy/prometheus: the example scrape config, the alert rules and their promtool unit tests are
// checked by Debian's promtool itself — and the unit tests are shown to catch broken rules. The one
// job selector of the rules (LinkStateExporterDown's) is declared in one marked block of alerts.yml.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { exporterJobSelector, jobMatchers, jobMatcherSelects, withExporterJobSelector } from '../helpers/prometheus.js';
import { describeResult, readRepoFile, repoPath, requireCommand, runCommand } from '../helpers/repo.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[] }[];
}

const REQUIRED_ALERTS = [
  'LinkCarrierDown',
  'LinkFlapping',
  'LinkSpeedDegraded',
  'LinkHalfDuplex',
  'BridgePortBlocking',
  'LinkNeighborChanged',
  'LinkStateExporterDown',
  'LinkStateNetlinkOverruns',
];

function alertRules(): Rule[] {
  const file = parse(readRepoFile('deploy/prometheus/alerts.yml')) as RuleFile;
  return file.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined);
}

/** The per-link rules (the ones on a device's series): they must keep its `netns` label. */
function isLinkRule(name: string): boolean {
  return (name.startsWith('Link') && !name.startsWith('LinkState')) || name.startsWith('Bridge');
}

/** How a summary or description names a link's network namespace; nothing for a host link. */
const NETNS_CLAUSE = '{{ with $labels.netns }} in network namespace {{ . }}{{ end }}';

/** The label lists of by/without/on/ignoring/group_left/group_right in a PromQL expression. */
function labelLists(expr: string): { keyword: string; labels: string[] }[] {
  return [...expr.matchAll(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)/g)].map((m) => ({
    keyword: m[1]!,
    labels: m[2]!.split(',').map((l) => l.trim()).filter((l) => l !== ''),
  }));
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    out.add(match[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
  }
  return out;
}

test('promtool check config accepts scrape.yml with its rule file and file_sd targets', async (t) => {
  if (!requireCommand(t, 'promtool', 'prometheus')) return;
  const result = await runCommand('promtool', ['check', 'config', repoPath('deploy/prometheus/scrape.yml')]);
  assert.equal(result.code, 0, describeResult('promtool check config', result));
  const output = result.stdout + result.stderr;
  assert.match(output, /SUCCESS: 1 rule files found/, output);
  assert.match(output, /SUCCESS: \d+ rules found/, output);

  // Both kinds of discovery are there, and the file_sd job really reads the example target file.
  const config = parse(readRepoFile('deploy/prometheus/scrape.yml')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; static_configs?: unknown[]; file_sd_configs?: { files: string[] }[] }[];
  };
  assert.deepEqual(config.rule_files, ['alerts.yml']);
  const jobs = config.scrape_configs;
  assert.ok(jobs.some((job) => job.static_configs !== undefined), 'a static_configs job');
  const fileSd = jobs.find((job) => job.file_sd_configs !== undefined);
  assert.ok(fileSd, 'a file_sd_configs job');
  assert.deepEqual(fileSd.file_sd_configs?.[0]?.files, ['targets/*.yml']);
  const targets = parse(readRepoFile('deploy/prometheus/targets/linkstate-exporter.yml')) as { targets: string[] }[];
  assert.ok(targets.length > 0 && targets.every((group) => group.targets.every((target) => /^[\w.-]+:10071$/.test(target))));
  // LinkStateExporterDown's job selector must select every example job.
  const selector = exporterJobSelector(readRepoFile('deploy/prometheus/alerts.yml'));
  for (const job of jobs) assert.ok(jobMatcherSelects(selector, job.job_name), `${selector} selects job ${job.job_name}`);
});

test('promtool check config rejects a broken file_sd target file (the check above is real)', async (t) => {
  if (!requireCommand(t, 'promtool', 'prometheus')) return;
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-promcfg-'));
  try {
    cpSync(repoPath('deploy/prometheus'), dir, { recursive: true });
    writeFileSync(join(dir, 'targets', 'broken.yml'), '- targetz: [host:10071]\n');
    const result = await runCommand('promtool', ['check', 'config', join(dir, 'scrape.yml')]);
    assert.notEqual(result.code, 0, describeResult('promtool check config (broken target file)', result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('promtool check rules accepts alerts.yml', async (t) => {
  if (!requireCommand(t, 'promtool', 'prometheus')) return;
  const result = await runCommand('promtool', ['check', 'rules', repoPath('deploy/prometheus/alerts.yml')]);
  assert.equal(result.code, 0, describeResult('promtool check rules', result));
  assert.match(result.stdout, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
});

test('alerts.yml has every required alert with a severity, a summary, a description and a runbook', () => {
  const rules = alertRules();
  const runbooks = anchors(readRepoFile('docs/operations.md'));
  assert.deepEqual(
    rules.map((rule) => rule.alert),
    REQUIRED_ALERTS,
  );
  for (const rule of rules) {
    const name = rule.alert!;
    assert.match(rule.labels?.['severity'] ?? '', /^(info|warning|critical)$/, `${name}: severity`);
    const summary = rule.annotations?.['summary'] ?? '';
    const description = rule.annotations?.['description'] ?? '';
    assert.ok(summary.length > 0 && description.length > 0, `${name}: summary and description`);
    assert.match(description, /\{\{ \$labels\.instance \}\}/, `${name}: description names the instance`);
    if (isLinkRule(name)) {
      assert.match(description, /\{\{ \$labels\.device \}\}/, `${name}: description names the device`);
      // ...and its network namespace, right after it, when the link has one (--collector.netns).
      for (const [what, text] of [['summary', summary], ['description', description]] as const) {
        assert.ok(text.includes(`{{ $labels.device }}${NETNS_CLAUSE}`), `${name}: ${what} names the netns after the device`);
      }
    }
    const anchor = name.toLowerCase();
    assert.ok(description.includes(`docs/operations.md#${anchor}`), `${name}: description points at its runbook`);
    assert.ok(runbooks.has(anchor), `${name}: docs/operations.md has a "${name}" heading (anchors: ${[...runbooks].join(' ')})`);
  }
});

test('the link rules keep the netns label: no grouping or join drops it, the down reason lookup selects on it', () => {
  // The checks can fail: they see what a rule that lost the label would say.
  assert.deepEqual(labelLists('sum by (instance, device) (x) and on(instance, job, device, netns) y'), [
    { keyword: 'by', labels: ['instance', 'device'] },
    { keyword: 'on', labels: ['instance', 'job', 'device', 'netns'] },
  ]);
  let links = 0;
  for (const rule of alertRules()) {
    if (!isLinkRule(rule.alert!)) continue;
    links++;
    for (const list of labelLists(rule.expr)) {
      // by/on/group_*: keep netns; without/ignoring: must not name it.
      const keeps = list.keyword === 'without' || list.keyword === 'ignoring' ? !list.labels.includes('netns') : list.labels.includes('netns');
      assert.ok(keeps, `${rule.alert}: ${list.keyword} (${list.labels.join(', ')}) drops netns`);
    }
    assert.doesNotMatch(rule.expr, /\bnetns\s*[=!]/, `${rule.alert}: selects no netns (every namespace alerts)`);
    // A query in an annotation that looks up the link's own series must name its netns too
    // (the host's eth0 is not web-1's eth0; `netns=""` selects the host's, which has none).
    for (const [key, text] of Object.entries(rule.annotations ?? {})) {
      for (const m of text.matchAll(/printf `[^`]*`((?: \$labels\.\w+)+)/g)) {
        if (!m[0].includes('device=')) continue;
        assert.match(m[0], /netns="%s"/, `${rule.alert} ${key}: the lookup selects on netns`);
        assert.ok(m[1]!.includes('$labels.netns'), `${rule.alert} ${key}: the lookup is given $labels.netns`);
      }
    }
  }
  assert.equal(links, 6, 'the six link rules');
});

test('the exporter job selector is declared once, at the top of alerts.yml, and only LinkStateExporterDown uses it', () => {
  const text = readRepoFile('deploy/prometheus/alerts.yml');
  const selector = exporterJobSelector(text);
  assert.ok(text.indexOf('EXPORTER JOB SELECTOR') < text.indexOf('\ngroups:'), 'the block is above the rules');
  // No other rule selects on job: renaming the job must not silence the link alerts.
  for (const rule of alertRules()) {
    const matchers = jobMatchers(rule.expr);
    if (rule.alert === 'LinkStateExporterDown') {
      assert.deepEqual(matchers, [selector], `${rule.alert}: selects on the declared selector`);
      assert.match(rule.expr, /^up\{/, `${rule.alert}: watches up`);
    } else assert.deepEqual(matchers, [], `${rule.alert}: no job matcher`);
  }
  // Changing it in the one place changes the rule, and nothing else.
  const changed = withExporterJobSelector(text, 'job="node-links"');
  const before = parse(text) as RuleFile;
  const after = parse(changed) as RuleFile;
  const down = (file: RuleFile): Rule => file.groups.flatMap((g) => g.rules).find((r) => r.alert === 'LinkStateExporterDown')!;
  assert.equal(down(after).expr, down(before).expr.replace(selector, 'job="node-links"'));
  down(after).expr = down(before).expr;
  assert.deepEqual(after, before, 'only that expression changed');
  assert.throws(() => withExporterJobSelector(text.replace('expr: linkstate_up == 1', `expr: linkstate_up{${selector}} == 1`), 'job="x"'), /on 2 lines/);
  // The operations guide names the same selector and where to change it; the PrometheusRule and
  // scrape.yml point at the block instead of repeating it.
  const docs = readRepoFile('docs/operations.md');
  assert.ok(docs.includes(`\`${selector}\``), `docs/operations.md names ${selector}`);
  assert.match(docs, /EXPORTER JOB SELECTOR/);
  for (const file of ['deploy/prometheus/scrape.yml', 'deploy/kubernetes/prometheusrule.yaml']) {
    const comments = readRepoFile(file).split('\n').filter((line) => line.trimStart().startsWith('#')).join('\n');
    assert.match(comments, /EXPORTER JOB SELECTOR/, `${file} points at the block`);
    assert.deepEqual(jobMatchers(comments), [], `${file}: no second copy of the selector in its comments`);
  }
  // On Kubernetes the job is the Service's name.
  const service = parse(readRepoFile('deploy/kubernetes/service.yaml')) as { metadata: { name: string } };
  assert.ok(jobMatcherSelects(selector, service.metadata.name), `${selector} selects the Service name ${service.metadata.name}`);
});

test('alerts.test.yml tests every alert both firing and not firing', () => {
  const tests = parse(readRepoFile('deploy/prometheus/alerts.test.yml')) as RuleTestFile;
  assert.deepEqual(tests.rule_files, ['alerts.yml']);
  const cases = tests.tests.flatMap((group) => group.alert_rule_test ?? []);
  for (const name of REQUIRED_ALERTS) {
    const mine = cases.filter((c) => c.alertname === name);
    assert.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${name}: a case where it fires`);
    assert.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${name}: a case where it does not fire`);
  }
});

test('promtool test rules passes alerts.test.yml', async (t) => {
  if (!requireCommand(t, 'promtool', 'prometheus')) return;
  const result = await runCommand('promtool', ['test', 'rules', repoPath('deploy/prometheus/alerts.test.yml')]);
  assert.equal(result.code, 0, describeResult('promtool test rules', result));
  assert.match(result.stdout, /SUCCESS/);
});

// Mutants of alerts.yml that the unit tests must reject: each is a plausible mistake.
const SELECTOR = exporterJobSelector(readRepoFile('deploy/prometheus/alerts.yml'));
const MUTANTS: { name: string; from: string; to: string }[] = [
  {
    name: 'LinkStateExporterDown without its job selector (every failing target of Prometheus alerts)',
    from: `expr: up{${SELECTOR}} == 0`,
    to: 'expr: up == 0',
  },
  {
    name: 'LinkCarrierDown tied to the default job names (silent under any other job name)',
    from: 'expr: linkstate_up == 1 and linkstate_carrier == 0',
    to: `expr: linkstate_up{${SELECTOR}} == 1 and linkstate_carrier == 0`,
  },
  {
    name: 'LinkFlapping tied to the default job names',
    from: 'expr: increase(linkstate_carrier_down_changes_total[10m]) >= 4',
    to: `expr: increase(linkstate_carrier_down_changes_total{${SELECTOR}}[10m]) >= 4`,
  },
  {
    name: 'LinkStateNetlinkOverruns tied to the default job names',
    from: 'expr: increase(linkstate_exporter_netlink_overruns_total[5m]) > 0',
    to: `expr: increase(linkstate_exporter_netlink_overruns_total{${SELECTOR}}[5m]) > 0`,
  },
  {
    name: 'LinkCarrierDown without the admin-up guard (an admin-down link would alert)',
    from: 'expr: linkstate_up == 1 and linkstate_carrier == 0',
    to: 'expr: linkstate_carrier == 0',
  },
  {
    name: 'LinkFlapping on a single carrier loss',
    from: 'expr: increase(linkstate_carrier_down_changes_total[10m]) >= 4',
    to: 'expr: increase(linkstate_carrier_down_changes_total[10m]) >= 1',
  },
  {
    name: 'LinkFlapping firing on three losses',
    from: 'expr: increase(linkstate_carrier_down_changes_total[10m]) >= 4',
    to: 'expr: increase(linkstate_carrier_down_changes_total[10m]) > 2.9',
  },
  {
    name: 'LinkFlapping from state changes between scrapes (misses flaps inside one scrape)',
    from: 'expr: increase(linkstate_carrier_down_changes_total[10m]) >= 4',
    to: 'expr: changes(linkstate_carrier_down_changes_total[10m]) >= 4',
  },
  {
    name: 'LinkCarrierDown without its down reason lookup',
    from: '{{ with first . }} The driver reports why:',
    to: '{{ with first . }}{{ end }}{{ with false }} The driver reports why:',
  },
  {
    name: 'LinkSpeedDegraded without the carrier guard (a link down at a low reported speed would alert)',
    from: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes\n          and on(instance, job, device, netns) linkstate_carrier == 1',
    to: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes',
  },
  {
    name: 'LinkSpeedDegraded at or below the advertised speed (a link at full speed would alert)',
    from: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes',
    to: 'linkstate_speed_bytes <= linkstate_advertised_speed_max_bytes',
  },
  {
    name: 'LinkHalfDuplex without the carrier guard',
    from: 'linkstate_duplex{duplex="half"} == 1\n          and on(instance, job, device, netns) linkstate_carrier == 1',
    to: 'linkstate_duplex{duplex="half"} == 1',
  },
  {
    name: 'BridgePortBlocking on a moment of blocking while STP converges',
    from: 'expr: linkstate_bridge_port_state{state="blocking"} == 1\n        for: 5m',
    to: 'expr: linkstate_bridge_port_state{state="blocking"} == 1\n        for: 1m',
  },
  {
    name: 'BridgePortBlocking as a warning (blocking is normal in a redundant topology)',
    from: 'severity: info',
    to: 'severity: warning',
  },
  {
    name: 'LinkStateExporterDown without its 5 minutes',
    from: `expr: up{${SELECTOR}} == 0\n        for: 5m`,
    to: `expr: up{${SELECTOR}} == 0\n        for: 0m`,
  },
  {
    name: 'LinkStateNetlinkOverruns on a single overrun',
    from: 'expr: increase(linkstate_exporter_netlink_overruns_total[5m]) > 0\n        for: 10m',
    to: 'expr: increase(linkstate_exporter_netlink_overruns_total[5m]) > 0\n        for: 0m',
  },
  // Network namespaces: eth0 in two namespaces and on the host are three links.
  {
    name: 'LinkCarrierDown pairing admin state and carrier of different namespaces',
    from: 'expr: linkstate_up == 1 and linkstate_carrier == 0',
    to: 'expr: linkstate_up == 1 and on(instance, job, device) linkstate_carrier == 0',
  },
  {
    name: 'LinkFlapping summed over the namespaces of a device name',
    from: 'expr: increase(linkstate_carrier_down_changes_total[10m]) >= 4',
    to: 'expr: sum by (instance, job, device) (increase(linkstate_carrier_down_changes_total[10m])) >= 4',
  },
  {
    name: 'LinkFlapping with netns aggregated away',
    from: 'expr: increase(linkstate_carrier_down_changes_total[10m]) >= 4',
    to: 'expr: max without (netns) (increase(linkstate_carrier_down_changes_total[10m])) >= 4',
  },
  {
    name: 'LinkSpeedDegraded joined to the carrier of another namespace',
    from: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes\n          and on(instance, job, device, netns)',
    to: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes\n          and on(instance, job, device)',
  },
  {
    name: 'LinkHalfDuplex joined to the carrier of another namespace',
    from: 'linkstate_duplex{duplex="half"} == 1\n          and on(instance, job, device, netns)',
    to: 'linkstate_duplex{duplex="half"} == 1\n          and on(instance, job, device)',
  },
  {
    name: "LinkCarrierDown taking the host's down reason for a namespace's link of the same name",
    from: 'linkstate_carrier_down_reason{device="%s",netns="%s",instance="%s",job="%s"}` $labels.device $labels.netns',
    to: 'linkstate_carrier_down_reason{device="%s",instance="%s",job="%s"}` $labels.device',
  },
  {
    name: 'LinkCarrierDown on host links only',
    from: 'expr: linkstate_up == 1 and linkstate_carrier == 0',
    to: 'expr: linkstate_up{netns=""} == 1 and linkstate_carrier == 0',
  },
  // LLDP (--collector.lldp): the neighbour a carrier-down alert names, and a moved cable.
  {
    name: 'LinkCarrierDown without its neighbour lookup',
    from: '{{ with first . }} It was connected to',
    to: '{{ with first . }}{{ end }}{{ with false }} It was connected to',
  },
  {
    name: "LinkCarrierDown naming another host's neighbour of a device with the same name",
    from: 'linkstate_lldp_neighbor_info{device="%s",netns="%s",instance="%s",job="%s"}` $labels.device $labels.netns $labels.instance $labels.job | query }}{{ with first . }} It was',
    to: 'linkstate_lldp_neighbor_info{device="%s",netns="%s",job="%s"}` $labels.device $labels.netns $labels.job | query }}{{ with first . }} It was',
  },
  {
    name: 'LinkNeighborChanged on a first neighbour (a new link)',
    from: '\n          and on(job, instance, device, netns)\n            group by (job, instance, device, netns) (max_over_time(linkstate_lldp_neighbor_info[1h] offset 10m))',
    to: '',
  },
  {
    name: 'LinkNeighborChanged on a changed port description (same neighbour)',
    from: 'unless on(job, instance, device, netns, chassis_id, port_id)',
    to: 'unless on(job, instance, device, netns, chassis_id, port_id, port_description)',
  },
  {
    name: 'LinkNeighborChanged comparing with a window that holds the present (never fires)',
    from: 'max_over_time(linkstate_lldp_neighbor_info[1h] offset 10m)\n          and',
    to: 'max_over_time(linkstate_lldp_neighbor_info[1h])\n          and',
  },
  {
    name: "LinkNeighborChanged comparing with another namespace's neighbours",
    from: 'and on(job, instance, device, netns)\n            group by (job, instance, device, netns)',
    to: 'and on(job, instance, device)\n            group by (job, instance, device)',
  },
  {
    name: 'LinkNeighborChanged as a warning (a moved cable is news, not a fault)',
    from: 'severity: info\n        annotations:\n          summary: "{{ $labels.device }}{{ with $labels.netns }} in network namespace {{ . }}{{ end }} on {{ $labels.instance }} now leads',
    to: 'severity: warning\n        annotations:\n          summary: "{{ $labels.device }}{{ with $labels.netns }} in network namespace {{ . }}{{ end }} on {{ $labels.instance }} now leads',
  },
  // Every annotation line that names the namespace, each without it.
  ...readRepoFile('deploy/prometheus/alerts.yml')
    .split('\n')
    .filter((line) => line.includes(NETNS_CLAUSE))
    .map((line) => ({ name: `no netns in: ${line.trim()}`, from: line, to: line.replace(NETNS_CLAUSE, '') })),
];

test('promtool test rules rejects broken variants of alerts.yml (the unit tests can fail)', async (t) => {
  if (!requireCommand(t, 'promtool', 'prometheus')) return;
  const original = readFileSync(repoPath('deploy/prometheus/alerts.yml'), 'utf8');
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-mutants-'));
  try {
    cpSync(repoPath('deploy/prometheus/alerts.test.yml'), join(dir, 'alerts.test.yml'));
    for (const mutant of MUTANTS) {
      assert.ok(original.includes(mutant.from), `${mutant.name}: alerts.yml still contains ${JSON.stringify(mutant.from)}`);
      writeFileSync(join(dir, 'alerts.yml'), original.replace(mutant.from, mutant.to));
      const result = await runCommand('promtool', ['test', 'rules', join(dir, 'alerts.test.yml')]);
      assert.notEqual(result.code, 0, `mutant survived: ${mutant.name}\n${describeResult('promtool test rules', result)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
