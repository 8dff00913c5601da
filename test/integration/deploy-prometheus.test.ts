// deploy/prometheus: the example scrape config, the alert rules and their promtool unit tests are
// checked by Debian's promtool itself — and the unit tests are shown to catch broken rules.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
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

const REQUIRED_ALERTS = ['LinkCarrierDown', 'LinkFlapping', 'LinkStateExporterDown', 'LinkStateNetlinkOverruns'];

function alertRules(): Rule[] {
  const file = parse(readRepoFile('deploy/prometheus/alerts.yml')) as RuleFile;
  return file.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined);
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
  // LinkStateExporterDown matches up{job=~"linkstate-exporter.*"}: every example job must fall under it.
  for (const job of jobs) assert.match(job.job_name, /^linkstate-exporter/, `job ${job.job_name}`);
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
    if (name.startsWith('Link') && !name.startsWith('LinkState')) {
      assert.match(description, /\{\{ \$labels\.device \}\}/, `${name}: description names the device`);
    }
    const anchor = name.toLowerCase();
    assert.ok(description.includes(`docs/operations.md#${anchor}`), `${name}: description points at its runbook`);
    assert.ok(runbooks.has(anchor), `${name}: docs/operations.md has a "${name}" heading (anchors: ${[...runbooks].join(' ')})`);
  }
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
const MUTANTS: { name: string; from: string; to: string }[] = [
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
    name: 'LinkStateExporterDown without its 5 minutes',
    from: 'for: 5m',
    to: 'for: 0m',
  },
  {
    name: 'LinkStateNetlinkOverruns on a single overrun',
    from: 'expr: increase(linkstate_exporter_netlink_overruns_total[5m]) > 0\n        for: 10m',
    to: 'expr: increase(linkstate_exporter_netlink_overruns_total[5m]) > 0\n        for: 0m',
  },
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
