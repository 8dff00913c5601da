// deploy/prometheus: the example scrape config, the alert rules and their promtool unit tests are
// checked by Debian's promtool itself — and the unit tests are shown to catch broken rules. The one
// job selector of the rules (LinkStateExporterDown's) is declared in one marked block of alerts.yml;
// the links that page are chosen in one recording rule, linkstate:alerting_links, that every link
// alert joins on; every alert's runbook_url has one base, an external label with a default.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  ALERTING_LINKS_RULE,
  alertingLinksExpr,
  exporterJobSelector,
  jobMatchers,
  jobMatcherSelects,
  withAlertingLinks,
  withExporterJobSelector,
} from '../helpers/prometheus.js';
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
  'LinkProtoDown',
  'LinkSpeedDegraded',
  'LinkHalfDuplex',
  'BridgePortBlocking',
  'LinkNeighborChanged',
  'LinkStateExporterDown',
  'LinkStateNetlinkOverruns',
];

function allRules(): Rule[] {
  const file = parse(readRepoFile('deploy/prometheus/alerts.yml')) as RuleFile;
  return file.groups.flatMap((group) => group.rules);
}

function alertRules(): Rule[] {
  return allRules().filter((rule) => rule.alert !== undefined);
}

/** Where every runbook_url points: the external label linkstate_runbook_url, else the project's page. */
const RUNBOOK_BASE =
  '{{ with $externalLabels.linkstate_runbook_url }}{{ . }}{{ else }}https://github.com/linkstate-exporter/linkstate-exporter/blob/main/docs/operations.md{{ end }}';
/** How every link alert joins the alerting set, as its last clause. */
const ALERTING_JOIN = 'and on(instance, job, device, netns) linkstate:alerting_links';

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
  assert.match(result.stdout, new RegExp(`SUCCESS: ${allRules().length} rules found`));
});

test('alerts.yml has every required alert with a severity, a summary, a description and a runbook_url', () => {
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
    // One base for every alert: the external label, else the project's page; then its anchor.
    assert.equal(rule.annotations?.['runbook_url'], `${RUNBOOK_BASE}#${anchor}`, `${name}: runbook_url`);
    assert.doesNotMatch(description, /Runbook:/, `${name}: the runbook is in runbook_url, not in the text`);
    assert.ok(runbooks.has(anchor), `${name}: docs/operations.md has a "${name}" heading (anchors: ${[...runbooks].join(' ')})`);
  }
  // The one place to change the base is documented where users look.
  for (const file of ['deploy/prometheus/alerts.yml', 'docs/operations.md', 'README.md']) {
    assert.match(readRepoFile(file), /linkstate_runbook_url/, `${file} names the external label linkstate_runbook_url`);
  }
});

test('the links that page are chosen in one place: linkstate:alerting_links, which every link alert joins on', () => {
  const rules = allRules();
  const records = rules.filter((rule) => rule.record !== undefined);
  assert.deepEqual(records.map((r) => r.record), [ALERTING_LINKS_RULE], 'one recording rule');
  const record = records[0]!;
  // By default: physical devices (a parent bus) and aggregates, one series per link.
  assert.equal(
    record.expr,
    'max by (instance, job, device, netns) (linkstate_info{parent_bus!=""} or linkstate_info{kind=~"bond|team"})',
  );
  assert.equal(rules.indexOf(record), 0, 'evaluated first, so that the alerts of its group see this evaluation');
  for (const rule of alertRules()) {
    const name = rule.alert!;
    assert.doesNotMatch(rule.expr, /\blinkstate_info\b/, `${name}: selects links only through ${ALERTING_LINKS_RULE}`);
    assert.doesNotMatch(rule.expr, /\b(kind|parent_bus|parent_device)\s*[=!]/, `${name}: no selection of its own`);
    if (isLinkRule(name)) assert.ok(rule.expr.trimEnd().endsWith(ALERTING_JOIN), `${name}: ends with ${ALERTING_JOIN}`);
    else assert.doesNotMatch(rule.expr, /alerting_links/, `${name}: not a link rule`);
  }
  // The helper the end-to-end test uses edits that one rule, as the header tells users to.
  const text = readRepoFile('deploy/prometheus/alerts.yml');
  assert.equal(alertingLinksExpr(text), record.expr);
  const wide = 'max by (instance, job, device, netns) (linkstate_info)';
  const after = parse(withAlertingLinks(text, wide)) as RuleFile;
  const before = parse(text) as RuleFile;
  assert.equal(after.groups[0]!.rules[0]!.expr, wide);
  after.groups[0]!.rules[0]!.expr = record.expr;
  assert.deepEqual(after, before, 'only that expression changed');
  // The header says how to widen it; so do README and the operations guide.
  const header = text.slice(0, text.indexOf('\ngroups:'));
  assert.match(header, /ALERTING LINKS/);
  assert.ok(header.includes(wide), 'the header shows the rule for every link');
  assert.match(readRepoFile('README.md'), /linkstate:alerting_links/);
  assert.match(readRepoFile('docs/operations.md'), /linkstate:alerting_links/);
});

test('the link rules keep the netns label: no grouping or join drops it, the down reason lookup selects on it', () => {
  // The checks can fail: they see what a rule that lost the label would say.
  assert.deepEqual(labelLists('sum by (instance, device) (x) and on(instance, job, device, netns) y'), [
    { keyword: 'by', labels: ['instance', 'device'] },
    { keyword: 'on', labels: ['instance', 'job', 'device', 'netns'] },
  ]);
  let links = 0;
  for (const rule of allRules()) {
    if (rule.alert !== undefined && !isLinkRule(rule.alert)) continue;
    links++;
    for (const list of labelLists(rule.expr)) {
      // by/on/group_*: keep netns; without/ignoring: must not name it.
      const keeps = list.keyword === 'without' || list.keyword === 'ignoring' ? !list.labels.includes('netns') : list.labels.includes('netns');
      assert.ok(keeps, `${rule.alert ?? rule.record}: ${list.keyword} (${list.labels.join(', ')}) drops netns`);
    }
    assert.doesNotMatch(rule.expr, /\bnetns\s*[=!]/, `${rule.alert ?? rule.record}: selects no netns (every namespace alerts)`);
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
  assert.equal(links, 8, 'the seven link rules and the alerting set');
});

test('the exporter job selector is declared once, at the top of alerts.yml, and only LinkStateExporterDown uses it', () => {
  const text = readRepoFile('deploy/prometheus/alerts.yml');
  const selector = exporterJobSelector(text);
  assert.ok(text.indexOf('EXPORTER JOB SELECTOR') < text.indexOf('\ngroups:'), 'the block is above the rules');
  // No other rule selects on job: renaming the job must not silence the link alerts.
  for (const rule of allRules()) {
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
  assert.throws(() => withExporterJobSelector(text.replace('(linkstate_info{parent_bus!=""} or', `(linkstate_info{${selector}} or`), 'job="x"'), /on 2 lines/);
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
/** A mutant replaces FROM by TO (every occurrence with all). */
const MUTANTS: { name: string; from: string; to: string; all?: boolean }[] = [
  {
    name: 'LinkStateExporterDown without its job selector (every failing target of Prometheus alerts)',
    from: `expr: up{${SELECTOR}} == 0`,
    to: 'expr: up == 0',
  },
  {
    name: 'the alerting set tied to the default job names (every link alert silent under any other job name)',
    from: '(linkstate_info{parent_bus!=""} or linkstate_info{kind=~"bond|team"})',
    to: `(linkstate_info{parent_bus!="", ${SELECTOR}} or linkstate_info{kind=~"bond|team", ${SELECTOR}})`,
  },
  {
    name: 'LinkCarrierDown tied to the default job names',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1',
    to: `linkstate_carrier_down_cause{cause="carrier", ${SELECTOR}} == 1`,
  },
  {
    name: 'LinkFlapping tied to the default job names',
    from: 'or max_over_time(linkstate_carrier_losses_total{cause=~"carrier|unknown"}[10m])',
    to: `or max_over_time(linkstate_carrier_losses_total{cause=~"carrier|unknown", ${SELECTOR}}[10m])`,
  },
  {
    name: 'LinkStateNetlinkOverruns tied to the default job names',
    from: 'expr: increase(linkstate_exporter_netlink_overruns_total[5m]) > 0',
    to: `expr: increase(linkstate_exporter_netlink_overruns_total{${SELECTOR}}[5m]) > 0`,
  },
  // The alerting set.
  {
    name: 'the alerting set holding every link (taps, veths and bridges would page)',
    from: '(linkstate_info{parent_bus!=""} or linkstate_info{kind=~"bond|team"})',
    to: '(linkstate_info)',
  },
  {
    name: 'LinkCarrierDown outside the alerting set (a stopped VM\'s tap pages)',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1\n          and on(instance, job, device, netns) linkstate:alerting_links',
    to: 'linkstate_carrier_down_cause{cause="carrier"} == 1',
  },
  {
    name: 'LinkFlapping outside the alerting set (a fast tap pages)',
    from: '    or increase(linkstate_phy_link_down_events_total[10m]) >= 4\n          )\n          and on(instance, job, device, netns) linkstate:alerting_links',
    to: '    or increase(linkstate_phy_link_down_events_total[10m]) >= 4\n          )',
  },
  {
    name: 'LinkProtoDown outside the alerting set',
    from: 'linkstate_carrier_down_cause{cause="protodown"} == 1\n          and on(instance, job, device, netns) linkstate:alerting_links',
    to: 'linkstate_carrier_down_cause{cause="protodown"} == 1',
  },
  {
    name: 'LinkSpeedDegraded outside the alerting set',
    from: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes\n          and on(instance, job, device, netns) linkstate_carrier == 1\n          and on(instance, job, device, netns) linkstate:alerting_links',
    to: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes\n          and on(instance, job, device, netns) linkstate_carrier == 1',
  },
  {
    name: 'LinkHalfDuplex outside the alerting set',
    from: 'linkstate_duplex{duplex="half"} == 1\n          and on(instance, job, device, netns) linkstate_carrier == 1\n          and on(instance, job, device, netns) linkstate:alerting_links',
    to: 'linkstate_duplex{duplex="half"} == 1\n          and on(instance, job, device, netns) linkstate_carrier == 1',
  },
  {
    name: 'BridgePortBlocking outside the alerting set',
    from: 'linkstate_bridge_port_state{state="blocking"} == 1\n          and on(instance, job, device, netns) linkstate:alerting_links',
    to: 'linkstate_bridge_port_state{state="blocking"} == 1',
  },
  {
    name: 'LinkNeighborChanged outside the alerting set (a bridge\'s new neighbour pages)',
    from: '(max_over_time(linkstate_lldp_neighbor_info[1h] offset 10m))\n          and on(instance, job, device, netns) linkstate:alerting_links',
    to: '(max_over_time(linkstate_lldp_neighbor_info[1h] offset 10m))',
  },
  {
    name: 'LinkCarrierDown joined to the alerting set of another namespace',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1\n          and on(instance, job, device, netns)',
    to: 'linkstate_carrier_down_cause{cause="carrier"} == 1\n          and on(instance, job, device)',
  },
  // LinkCarrierDown: the medium only.
  {
    name: 'LinkCarrierDown on every cause (admin down, lower devices, empty bonds page)',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1',
    to: 'linkstate_carrier_down_cause == 1',
  },
  {
    name: 'LinkCarrierDown on every cause but admin',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1',
    to: 'linkstate_carrier_down_cause{cause!="admin"} == 1',
  },
  {
    name: 'LinkCarrierDown for a stacked device whose lower device is down (one cable, several pages)',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1',
    to: 'linkstate_carrier_down_cause{cause!~"admin|no_active_members|protodown"} == 1',
  },
  {
    name: 'LinkCarrierDown for a bond without active members',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1',
    to: 'linkstate_carrier_down_cause{cause!~"admin|lower_layer|protodown"} == 1',
  },
  {
    name: 'LinkCarrierDown without its minute',
    from: 'and on(instance, job, device, netns) linkstate:alerting_links\n        for: 1m',
    to: 'and on(instance, job, device, netns) linkstate:alerting_links\n        for: 0m',
  },
  {
    name: 'LinkCarrierDown on host links only',
    from: 'linkstate_carrier_down_cause{cause="carrier"} == 1',
    to: 'linkstate_carrier_down_cause{cause="carrier",netns=""} == 1',
  },
  {
    name: 'LinkCarrierDown without the cause in its description',
    from: 'Cause: {{ $labels.cause }},',
    to: 'Cause:',
  },
  {
    name: 'LinkCarrierDown without its down reason lookup',
    from: '{{ with first . }} The driver reports why:',
    to: '{{ with first . }}{{ end }}{{ with false }} The driver reports why:',
  },
  {
    name: "LinkCarrierDown taking the host's down reason for a namespace's link of the same name",
    from: 'linkstate_carrier_down_reason{device="%s",netns="%s",instance="%s",job="%s"}` $labels.device $labels.netns',
    to: 'linkstate_carrier_down_reason{device="%s",instance="%s",job="%s"}` $labels.device',
  },
  // LinkFlapping: physical losses only, each counted.
  {
    name: 'LinkFlapping counting every cause (admin flaps and a peer\'s churn page)',
    from: 'cause=~"carrier|unknown"',
    to: 'cause=~".+"',
    all: true,
  },
  {
    name: 'LinkFlapping without the unannounced losses',
    from: 'cause=~"carrier|unknown"',
    to: 'cause="carrier"',
    all: true,
  },
  {
    name: 'LinkFlapping from increase() alone (the loss that creates a series, or a whole burst, missed)',
    from: '\n                or max_over_time(linkstate_carrier_losses_total{cause=~"carrier|unknown"}[10m])',
    to: '',
  },
  {
    name: 'LinkFlapping counting the whole value of every series born in the window, from the first scrape on',
    from: '\n                  and linkstate_carrier_losses_total{cause=~"carrier|unknown"} offset 10m',
    to: '',
  },
  {
    name: 'LinkFlapping without the bound of the kernel\'s counter (a series back after a gap pages)',
    from: '\n              and on(instance, job, device, netns) increase(linkstate_carrier_down_changes_total[10m]) >= 4',
    to: '',
  },
  {
    name: 'LinkFlapping without the PHY counter',
    from: '\n            or increase(linkstate_phy_link_down_events_total[10m]) >= 4',
    to: '',
  },
  {
    name: 'LinkFlapping on a single loss',
    from: '              ) >= 4\n',
    to: '              ) >= 1\n',
  },
  {
    name: 'LinkFlapping firing on three losses',
    from: '              ) >= 4\n',
    to: '              ) > 2.9\n',
  },
  {
    name: 'LinkFlapping summed over the namespaces of a device name',
    from: 'sum by (instance, job, device, netns) (',
    to: 'sum by (instance, job, device) (',
  },
  {
    name: 'LinkFlapping without the losses by cause in its description',
    from: ' Losses by cause since the exporter started:',
    to: '{{ end }}{{ with false }}',
  },
  // LinkProtoDown.
  {
    name: 'LinkProtoDown as a warning',
    from: '        for: 5m\n        labels:\n          severity: info\n        annotations:\n          summary: "{{ $labels.device }}{{ with $labels.netns }} in network namespace {{ . }}{{ end }} on {{ $labels.instance }} is held protodown"',
    to: '        for: 5m\n        labels:\n          severity: warning\n        annotations:\n          summary: "{{ $labels.device }}{{ with $labels.netns }} in network namespace {{ . }}{{ end }} on {{ $labels.instance }} is held protodown"',
  },
  {
    name: 'LinkProtoDown without its 5 minutes (a daemon\'s start-up delay)',
    from: 'linkstate_carrier_down_cause{cause="protodown"} == 1\n          and on(instance, job, device, netns) linkstate:alerting_links\n        for: 5m',
    to: 'linkstate_carrier_down_cause{cause="protodown"} == 1\n          and on(instance, job, device, netns) linkstate:alerting_links\n        for: 1m',
  },
  {
    name: 'runbook_url ignoring the external label linkstate_runbook_url',
    from: '{{ with $externalLabels.linkstate_runbook_url }}{{ . }}{{ else }}https://github.com/linkstate-exporter/linkstate-exporter/blob/main/docs/operations.md{{ end }}#linkprotodown',
    to: 'https://github.com/linkstate-exporter/linkstate-exporter/blob/main/docs/operations.md#linkprotodown',
  },
  // The other link rules.
  {
    name: 'LinkSpeedDegraded without the carrier guard (a link down at a low reported speed would alert)',
    from: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes\n          and on(instance, job, device, netns) linkstate_carrier == 1\n',
    to: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes\n',
  },
  {
    name: 'LinkSpeedDegraded at or below the advertised speed (a link at full speed would alert)',
    from: 'linkstate_speed_bytes < linkstate_advertised_speed_max_bytes',
    to: 'linkstate_speed_bytes <= linkstate_advertised_speed_max_bytes',
  },
  {
    name: 'LinkHalfDuplex without the carrier guard',
    from: 'linkstate_duplex{duplex="half"} == 1\n          and on(instance, job, device, netns) linkstate_carrier == 1\n',
    to: 'linkstate_duplex{duplex="half"} == 1\n',
  },
  {
    name: 'BridgePortBlocking on a moment of blocking while STP converges',
    from: 'and on(instance, job, device, netns) linkstate:alerting_links\n        for: 5m\n        labels:\n          severity: info\n        annotations:\n          summary: "bridge port',
    to: 'and on(instance, job, device, netns) linkstate:alerting_links\n        for: 1m\n        labels:\n          severity: info\n        annotations:\n          summary: "bridge port',
  },
  {
    name: 'BridgePortBlocking as a warning (blocking is normal in a redundant topology)',
    from: '          severity: info\n        annotations:\n          summary: "bridge port',
    to: '          severity: warning\n        annotations:\n          summary: "bridge port',
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
    name: 'the alerting set with netns aggregated away',
    from: 'max by (instance, job, device, netns) (linkstate_info{parent_bus',
    to: 'max by (instance, job, device) (linkstate_info{parent_bus',
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
      writeFileSync(join(dir, 'alerts.yml'), mutant.all === true ? original.split(mutant.from).join(mutant.to) : original.replace(mutant.from, mutant.to));
      const result = await runCommand('promtool', ['test', 'rules', join(dir, 'alerts.test.yml')]);
      assert.notEqual(result.code, 0, `mutant survived: ${mutant.name}\n${describeResult('promtool test rules', result)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
