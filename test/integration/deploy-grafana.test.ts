// grafana/: the dashboard's structure (stable uid, data source, job, instance, netns and device
// variables, the panels an operator needs), every PromQL expression in it parsed by promtool and
// selecting on $job and $instance (per-link ones on $device and $netns too, their legends and
// tables showing netns), no hard-coded job name anywhere under grafana/, plus the provisioning
// examples. Whether each expression returns data is proven in
// test/e2e/prometheus-alerts.test.ts against a real Prometheus.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify, parse } from 'yaml';
import {
  BUILTIN_VARIABLES,
  DEVICE_MATCHER,
  JOB_MATCHER,
  NETNS_MATCHER,
  allPanels,
  dashboardExpressions,
  fillVariables,
  hardCodedJobMatchers,
  isPerLinkMetric,
  jsonStrings,
  loadDashboard,
  variableSelector,
  variablesUsed,
  vectorSelectors,
} from '../helpers/dashboard.js';
import { describeResult, readRepoFile, repoPath, requireCommand, runCommand } from '../helpers/repo.js';

const DS_UID = '${datasource}';

test('the dashboard has a stable uid and datasource, job, instance, netns and device variables', () => {
  const dashboard = loadDashboard();
  assert.equal(dashboard.uid, 'linkstate-exporter');
  assert.ok(dashboard.schemaVersion >= 36);
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  const ds = variables.get('datasource');
  assert.equal(ds?.type, 'datasource');
  assert.equal(ds?.query, 'prometheus');
  assert.deepEqual(
    dashboard.templating.list.map((v) => v.name),
    ['datasource', 'job', 'instance', 'netns', 'device'],
    'each variable after the ones its query uses',
  );
  for (const name of ['job', 'instance', 'netns', 'device']) {
    const variable = variables.get(name);
    assert.equal(variable?.type, 'query', `${name} variable`);
    assert.equal(variable?.datasource?.uid, DS_UID, `${name} queries the selected data source`);
    assert.equal(variable?.multi, true, `${name} is multi-value`);
    assert.equal(variable?.includeAll, true, `${name} has All`);
  }
  // instance depends on job, netns on both and device on all three, so choosing a job narrows the
  // host list, a host the namespace list and a namespace the device list.
  assert.deepEqual(variablesUsed(JSON.stringify(variables.get('instance')?.query)), ['job']);
  assert.deepEqual(variablesUsed(JSON.stringify(variables.get('netns')?.query)).sort(), ['instance', 'job']);
  assert.deepEqual(variablesUsed(JSON.stringify(variables.get('device')?.query)).sort(), ['instance', 'job', 'netns']);
});

test('the netns variable lists the namespaces of the links, and its All keeps the host links (no netns label)', () => {
  const netns = loadDashboard().templating.list.find((v) => v.name === 'netns');
  assert.ok(netns);
  assert.equal(variableSelector(netns), 'linkstate_up{job=~"$job", instance=~"$instance"}', 'lists from a per-link series');
  assert.equal(netns.definition, 'label_values(linkstate_up{job=~"$job", instance=~"$instance"}, netns)');
  assert.equal(netns['regex'], '', 'no regex filter on the namespace names');
  assert.ok(Number(netns['refresh']) >= 1, 'the list is refreshed from Prometheus');
  assert.deepEqual(netns['current'], { selected: true, text: ['All'], value: ['$__all'] }, 'All by default');
  assert.deepEqual(netns['options'], [], 'no namespace names stored in the dashboard');
  // The exporter's own links have no netns label, and label_values() never lists an empty value:
  // All must be a regex that matches the empty string (Prometheus anchors it), or every host
  // link vanishes from every panel. Without an allValue, All would be the listed names only.
  const allValue = netns['allValue'];
  assert.equal(typeof allValue, 'string', 'an allValue');
  const matches = (value: string): boolean => new RegExp(`^(?:${String(allValue)})$`).test(value);
  assert.ok(matches(''), `All (${String(allValue)}) matches a host link (netns absent, i.e. "")`);
  assert.ok(matches('web-1') && matches('nsid-7') && matches('qrouter-7a1b'), `All (${String(allValue)}) matches every namespace`);
});

test('the job variable lists the jobs with an exporter and defaults to all of them, without a catch-all', () => {
  const job = loadDashboard().templating.list.find((v) => v.name === 'job');
  assert.ok(job);
  assert.equal(variableSelector(job), 'linkstate_exporter_build_info', 'lists every job that has an exporter target');
  assert.equal(job.definition, 'label_values(linkstate_exporter_build_info, job)');
  assert.equal(job['regex'], '', 'no regex filter on the job names');
  assert.ok(Number(job['refresh']) >= 1, 'the list is refreshed from Prometheus (on load or time range change)');
  // Default All. All must stand for the listed jobs only: with allValue ".+" the panels on
  // generic metrics (up, scrape_duration_seconds, process_*) would show every target of Prometheus.
  assert.deepEqual(job['current'], { selected: true, text: ['All'], value: ['$__all'] });
  assert.equal(job['allValue'] ?? null, null, 'no allValue: All means the listed jobs');
  assert.deepEqual(job['options'], [], 'no job names stored in the dashboard');
});

test('no file under grafana/ hard-codes a job: every job matcher is job=~"$job"', () => {
  // The check can fail: it finds a hard-coded job matcher such as a dashboard may carry, in JSON too.
  const old = JSON.parse(JSON.stringify({ expr: 'up{job=~"linkstate-exporter.*", instance=~"$instance"}' })) as unknown;
  assert.deepEqual(hardCodedJobMatchers(jsonStrings(old).join('\n')), ['job=~"linkstate-exporter.*"']);
  assert.deepEqual(hardCodedJobMatchers(`a{job="node"} or b{job!~'x'} or c{ job = "z" }`), ['job="node"', "job!~'x'", 'job = "z"']);
  assert.deepEqual(hardCodedJobMatchers('a{job=~"$job"} or b{job=~"${job}"} or c{job=~"${job:regex}"}'), []);

  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(repoPath(dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk('grafana');
  assert.ok(files.includes('grafana/linkstate-exporter.json') && files.length >= 3, files.join(' '));
  for (const file of files) {
    const text = readFileSync(repoPath(file), 'utf8');
    // JSON: the strings as Grafana reads them (\" unescaped); anything else as written.
    const strings = file.endsWith('.json') ? jsonStrings(JSON.parse(text)) : [text];
    assert.deepEqual(strings.flatMap(hardCodedJobMatchers), [], `${file}: hard-coded job matchers`);
  }
});

test('every vector selector of every panel target and annotation selects on $job and $instance, per-link ones on $device and $netns', () => {
  const dashboard = loadDashboard();
  const expressions = dashboardExpressions(dashboard);
  let selectors = 0;
  let perLink = 0;
  for (const { where, expr } of expressions) {
    const found = vectorSelectors(expr);
    assert.ok(found.length > 0, `${where}: no vector selector found in ${expr}`);
    const wanted =
      where === 'variable job'
        ? []
        : where === 'variable instance'
          ? [JOB_MATCHER]
          : where === 'variable netns'
            ? [JOB_MATCHER, 'instance=~"$instance"']
            : where === 'variable device'
              ? [JOB_MATCHER, 'instance=~"$instance"', NETNS_MATCHER]
              : [JOB_MATCHER, 'instance=~"$instance"'];
    for (const selector of found) {
      selectors++;
      assert.ok(selector.metric !== undefined, `${where}: ${selector.text} names its metric`);
      const matchers = selector.matchers.map((m) => `${m.label}${m.op}"${m.value}"`);
      for (const matcher of wanted) assert.ok(matchers.includes(matcher), `${where}: ${selector.text} lacks ${matcher}`);
      // A per-link series in a panel or annotation: the device and netns variables select it
      // (two eth0 in two namespaces are two links). The variables list devices and namespaces.
      if (isPerLinkMetric(selector.metric) && !where.startsWith('variable')) {
        perLink++;
        for (const matcher of [DEVICE_MATCHER, NETNS_MATCHER]) assert.ok(matchers.includes(matcher), `${where}: ${selector.text} lacks ${matcher}`);
      }
      // netns is only ever the variable (a hard-coded namespace would hide the others).
      for (const m of selector.matchers.filter((x) => x.label === 'netns')) assert.equal(`${m.label}${m.op}"${m.value}"`, NETNS_MATCHER, `${where}: ${selector.text}`);
      assert.deepEqual(hardCodedJobMatchers(selector.text), [], `${where}: ${selector.text}`);
    }
  }
  // Every panel target, one by one (the loop above also covers annotations and variables).
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) assert.ok((target.expr ?? '').includes(JOB_MATCHER), `${panel.title} ${target.refId}: $job`);
  }
  assert.ok(selectors >= 30, `${selectors} selectors`);
  assert.ok(perLink >= 25, `${perLink} per-link selectors`);
  assert.ok(isPerLinkMetric('linkstate_carrier') && isPerLinkMetric('ALERTS'));
  assert.ok(!isPerLinkMetric('linkstate_exporter_links') && !isPerLinkMetric('linkstate_netns_info') && !isPerLinkMetric('up'));

  // The parser finds what a careless edit would leave: a bare metric, a selector without $job.
  const probe = vectorSelectors('sum by (instance) (rate(a_total{job=~"$job", x="y{"}[5m])) * on (instance) group_left b or topk(3, {__name__="c"}) > 0');
  assert.deepEqual(probe.map((s) => [s.metric, s.matchers.length]), [['a_total', 2], ['b', 0], [undefined, 1]]);
});

test('legends, annotation texts and tables that show the device show its netns too', () => {
  const dashboard = loadDashboard();
  let legends = 0;
  let tables = 0;
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const legend = typeof target['legendFormat'] === 'string' ? target['legendFormat'] : '';
      if (legend.includes('{{device}}')) {
        legends++;
        assert.ok(legend.includes('{{netns}}'), `${panel.title} ${target.refId}: legend ${legend} shows netns`);
      }
    }
    const organize = ((panel['transformations'] ?? []) as { id: string; options: Record<string, Record<string, unknown>> }[]).filter((x) => x.id === 'organize');
    for (const { options } of organize) {
      assert.notEqual(options['excludeByName']?.['netns'], true, `${panel.title}: the table hides netns`);
      const index = options['indexByName'];
      if (index !== undefined && 'device' in index) {
        tables++;
        assert.equal(index['netns'], Number(index['device']) + 1, `${panel.title}: netns is the column after device`);
      }
    }
  }
  assert.ok(legends >= 8, `${legends} legends with the device`);
  assert.ok(tables >= 2, `${tables} tables with a device column`);
  for (const annotation of (dashboard.annotations?.list ?? []) as { name: string; textFormat?: string; tagKeys?: string }[]) {
    if (!(annotation.textFormat ?? '').includes('{{device}}')) continue;
    assert.ok(annotation.textFormat!.includes('{{netns}}'), `annotation ${annotation.name}: text shows netns`);
    assert.ok((annotation.tagKeys ?? '').split(',').includes('netns'), `annotation ${annotation.name}: netns tag`);
  }
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

test('the dashboard has a panel for each state, flap, downtime, netlink and scrape view', () => {
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
  find('speed, duplex and down reason in one per-link table', (p, e) =>
    p.type === 'table' && /\blinkstate_speed_bytes\{/.test(e) && /\blinkstate_duplex\{/.test(e) && /\blinkstate_carrier_down_reason\{/.test(e));
  find('the LLDP neighbour and its stale mark in the per-link table', (p, e) =>
    p.type === 'table' && /\blinkstate_speed_bytes\{/.test(e) && /\blinkstate_lldp_neighbor_info\{/.test(e) && /\blinkstate_lldp_neighbor_stale\{/.test(e));
  find('bridge port states over time (state timeline)', (p, e) => p.type === 'state-timeline' && /\blinkstate_bridge_port_state\{/.test(e));
  find('unannounced carrier losses (cause unknown)', (_p, e) => /\blinkstate_carrier_losses_total\{[^}]*cause="unknown"[^}]*\}/.test(e));
});

test('the per-link table shows the cause of the current outage and the losses by each cause', () => {
  const table = allPanels(loadDashboard()).find((p) => p.type === 'table' && (p.targets ?? []).some((t) => /\blinkstate_speed_bytes\{/.test(t.expr ?? '')));
  assert.ok(table, 'the per-link table');
  const targets = table.targets ?? [];
  const organize = (table['transformations'] as { id: string; options: Record<string, Record<string, unknown>> }[]).find((x) => x.id === 'organize');
  assert.ok(organize, 'an organize transformation');
  const renamed = organize.options['renameByName'] ?? {};
  const hidden = organize.options['excludeByName'] ?? {};
  // The cause now: the gauge's cause label, a column of its own.
  const now = targets.find((t) => /^linkstate_carrier_down_cause\{[^}]*\} == 1$/.test(t.expr ?? ''));
  assert.ok(now, 'a query of linkstate_carrier_down_cause');
  assert.equal(renamed['cause'], 'cause now', 'its cause label is the column "cause now"');
  assert.equal(hidden[`Value #${now.refId}`], true, 'its value (always 1) is hidden');
  // One column per cause: the losses with that cause, without the cause label (which the merge
  // would otherwise take for the cause now).
  for (const cause of ['carrier', 'unknown', 'admin', 'lower_layer', 'no_active_members', 'protodown']) {
    const target = targets.find((t) => (t.expr ?? '').includes(`cause="${cause}"`) && /^sum without \(cause\) \(linkstate_carrier_losses_total\{/.test(t.expr ?? ''));
    assert.ok(target, `a column of the losses with cause ${cause}`);
    assert.equal(renamed[`Value #${target.refId}`], `losses: ${cause}`, `its column is "losses: ${cause}"`);
  }
  assert.equal(new Set(targets.map((t) => t.refId)).size, targets.length, 'unique refIds');
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
  const values = { job: '(linkstate-exporter|node-links)', instance: '(host1:10071|host2:10071)', netns: '.*', device: '.+', __interval: '1m', __rate_interval: '1m', __range: '6h' };
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
