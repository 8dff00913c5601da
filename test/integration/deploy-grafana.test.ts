// grafana/: the dashboard's structure (stable uid, data source, instance and device variables, the
// panels the issue asks for) and every PromQL expression in it, parsed by promtool, plus the
// provisioning examples. Whether each expression returns data is proven in
// test/e2e/prometheus-alerts.test.ts against a real Prometheus.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify, parse } from 'yaml';
import {
  BUILTIN_VARIABLES,
  allPanels,
  dashboardExpressions,
  fillVariables,
  loadDashboard,
  variablesUsed,
} from '../helpers/dashboard.js';
import { describeResult, readRepoFile, requireCommand, runCommand } from '../helpers/repo.js';

const DS_UID = '${datasource}';

test('the dashboard has a stable uid and datasource, instance and device variables', () => {
  const dashboard = loadDashboard();
  assert.equal(dashboard.uid, 'linkstate-exporter');
  assert.ok(dashboard.schemaVersion >= 36);
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  const ds = variables.get('datasource');
  assert.equal(ds?.type, 'datasource');
  assert.equal(ds?.query, 'prometheus');
  for (const name of ['instance', 'device']) {
    const variable = variables.get(name);
    assert.equal(variable?.type, 'query', `${name} variable`);
    assert.equal(variable?.datasource?.uid, DS_UID, `${name} queries the selected data source`);
    assert.equal(variable?.multi, true, `${name} is multi-value`);
    assert.equal(variable?.includeAll, true, `${name} has All`);
  }
  // device depends on instance, so choosing a host narrows the device list.
  assert.ok(variablesUsed(JSON.stringify(variables.get('device')?.query)).includes('instance'));
});

test('every panel and target uses the datasource variable, panel ids are unique, the grid does not overlap', () => {
  const dashboard = loadDashboard();
  const panels = allPanels(dashboard);
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  const cells = new Set<string>();
  for (const panel of panels) {
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24 && h > 0, `${panel.title}: gridPos inside 24 columns`);
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) {
        const cell = `${row}:${col}`;
        assert.ok(!cells.has(cell), `${panel.title} overlaps another panel at ${cell}`);
        cells.add(cell);
      }
    }
    if (panel.type === 'row') continue;
    assert.equal(panel.datasource?.uid, DS_UID, `${panel.title}: panel datasource`);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title}: has queries`);
    for (const target of panel.targets ?? []) {
      assert.equal(target.datasource?.uid, DS_UID, `${panel.title} ${target.refId}: target datasource`);
      assert.ok(typeof target.expr === 'string' && target.expr.length > 0, `${panel.title} ${target.refId}: expr`);
    }
  }
});

test('the dashboard shows what the issue asks for', () => {
  const panels = allPanels(loadDashboard()).filter((p) => p.type !== 'row');
  const find = (what: string, pred: (p: (typeof panels)[number], exprs: string) => boolean): void => {
    assert.ok(
      panels.some((p) => pred(p, (p.targets ?? []).map((t) => t.expr ?? '').join('\n'))),
      `a panel for ${what}`,
    );
  };
  find('carrier over time (state timeline)', (p, e) => p.type === 'state-timeline' && /\blinkstate_carrier\{/.test(e));
  find('oper state over time (state timeline)', (p, e) => p.type === 'state-timeline' && /\blinkstate_oper_state\{/.test(e));
  find('flaps per interval, top devices', (p, e) => /topk\(/.test(e) && /increase\(linkstate_carrier_down_changes_total\{[^}]*\}\[\$__interval\]\)/.test(e));
  find('time since the last change', (_p, e) => /time\(\) - linkstate_carrier_last_change_timestamp_seconds/.test(e));
  find('downtime per device', (_p, e) => /linkstate_carrier_down_seconds_total/.test(e));
  find('netlink overruns', (_p, e) => /linkstate_exporter_netlink_overruns_total/.test(e));
  find('resyncs', (_p, e) => /linkstate_exporter_netlink_resyncs_total/.test(e));
  find('scrape duration', (_p, e) => /\bscrape_duration_seconds\{/.test(e));
});

test('every expression uses only defined variables', () => {
  const dashboard = loadDashboard();
  const defined = new Set<string>([...dashboard.templating.list.map((v) => v.name), ...BUILTIN_VARIABLES]);
  const expressions = dashboardExpressions(dashboard);
  assert.ok(expressions.length >= 15, `found ${expressions.length} expressions`);
  for (const { where, expr } of expressions) {
    for (const name of variablesUsed(expr)) assert.ok(defined.has(name), `${where}: undefined variable $${name}`);
    if (!where.startsWith('variable')) {
      assert.match(expr, /instance=~"\$instance"/, `${where}: filtered by instance`);
    }
  }
});

test('promtool parses every dashboard expression (variables filled in as Grafana would)', async (t) => {
  if (!requireCommand(t, 'promtool', 'prometheus')) return;
  const expressions = dashboardExpressions(loadDashboard());
  const values = { instance: '(host1:10071|host2:10071)', device: '.+', __interval: '1m', __rate_interval: '1m', __range: '6h' };
  const rules = expressions.map(({ expr }, i) => ({ record: `dashboard:expr_${i}`, expr: fillVariables(expr, values) }));
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-dashboard-'));
  try {
    const file = join(dir, 'dashboard-expressions.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const result = await runCommand('promtool', ['check', 'rules', file]);
    assert.equal(result.code, 0, describeResult('promtool check rules (dashboard expressions)', result));
    assert.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
    // And the check is real: a broken expression is rejected.
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: [{ record: 'x:y', expr: 'sum by (device (linkstate_up)' }] }] }));
    const broken = await runCommand('promtool', ['check', 'rules', file]);
    assert.notEqual(broken.code, 0, describeResult('promtool check rules (broken expression)', broken));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the provisioning examples point Grafana at Prometheus and at the dashboard folder', () => {
  const datasources = parse(readRepoFile('grafana/provisioning/datasources/prometheus.yml')) as {
    apiVersion: number;
    datasources: { type: string; url: string; access: string }[];
  };
  assert.equal(datasources.apiVersion, 1);
  assert.equal(datasources.datasources.length, 1);
  assert.equal(datasources.datasources[0]?.type, 'prometheus');
  assert.match(datasources.datasources[0]?.url ?? '', /^https?:\/\//);
  const dashboards = parse(readRepoFile('grafana/provisioning/dashboards/linkstate-exporter.yml')) as {
    apiVersion: number;
    providers: { type: string; options: { path: string } }[];
  };
  assert.equal(dashboards.apiVersion, 1);
  assert.equal(dashboards.providers[0]?.type, 'file');
  assert.match(dashboards.providers[0]?.options.path ?? '', /^\//);
  // The operations guide tells where the JSON goes: the same folder.
  assert.ok(readRepoFile('docs/operations.md').includes(dashboards.providers[0]!.options.path));
});
