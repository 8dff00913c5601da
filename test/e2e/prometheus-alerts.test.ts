// The proof of deploy/prometheus and grafana/ against the real thing: Debian's Prometheus, with a
// 1 s scrape and evaluation interval and the shipped deploy/prometheus/alerts.yml (no shortened
// `for:`; only its EXPORTER JOB SELECTOR changed, as its header tells users to), scrapes the built
// exporter as job `node-links` (not a default name) and itself as job `prometheus`, inside a
// throwaway network namespace while the test flaps veth pairs. Through Prometheus's HTTP API:
// - the carrier gauges and the three carrier counters equal the kernel's own (sysfs);
// - the dashboard's job variable lists node-links only, and every expression of the dashboard,
//   variables filled in as Grafana would (job = All), returns data, none of it from the job
//   prometheus — and nothing at all for a job that does not exist; the netns variable lists no
//   namespace (the exporter runs without --collector.netns), its All keeps the host's links, and
//   a namespace that does not exist empties every per-link query;
// - a peer held down raises LinkCarrierDown for its device (after the rule's real 1 minute), a
//   flap storm raises LinkFlapping, and an interface set admin down raises nothing;
// - stopping the exporter makes LinkStateExporterDown pending for job node-links.
// Both servers run inside the namespace on 127.0.0.1; the test thread enters it to query them.
// It takes a little over a minute, because LinkCarrierDown's `for:` is one minute.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { dashboardExpressions, fillVariables, grafanaRegexValue, isPerLinkMetric, loadDashboard, variableSelector, vectorSelectors } from '../helpers/dashboard.js';
import { startExporter, type RunningExporter } from '../helpers/exporter.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';
import { exporterJobSelector, startPrometheus, withExporterJobSelector, type PrometheusServer, type Sample } from '../helpers/prometheus.js';
import { readRepoFile, requireCommand, waitFor } from '../helpers/repo.js';

const EXPORTER_PORT = 10071;
const PROMETHEUS_PORT = 9090;
const INSTANCE = `127.0.0.1:${EXPORTER_PORT}`;
// Not a name the shipped selector matches: the dashboard must not care, and alerts.yml is adapted
// in its one place.
const JOB = 'node-links';
const OTHER_JOB = 'prometheus';
const DEVICES = ['lnk1', 'lnk2', 'lnk3', 'lnk4'] as const;
const STORM_FLAPS = 25;

/** The `for:` of a rule in the shipped alerts.yml, in ms ("1m" → 60000). */
function ruleFor(alert: string): number {
  const file = parse(readRepoFile('deploy/prometheus/alerts.yml')) as { groups: { rules: { alert?: string; for?: string }[] }[] };
  const rule = file.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  assert.ok(rule, alert);
  const match = /^(\d+)(s|m)$/.exec(rule.for ?? '0s');
  assert.ok(match, `${alert} for: ${rule.for}`);
  return Number(match[1]) * (match[2] === 'm' ? 60_000 : 1000);
}

function one(samples: readonly Sample[], what: string): number {
  assert.equal(samples.length, 1, `${what}: one sample, got ${JSON.stringify(samples)}`);
  return samples[0]!.value;
}

/** Prometheus's latest value of METRIC per device. */
async function perDevice(prom: PrometheusServer, metric: string): Promise<Map<string, number>> {
  const samples = await prom.query(`${metric}{job="${JOB}"}`);
  return new Map(samples.map((s) => [s.metric['device'] ?? '', s.value]));
}

/** Differences between Prometheus's view and the kernel's, for every test device. */
async function mismatches(prom: PrometheusServer, ns: Netns): Promise<string[]> {
  const kernel = await ns.kernelCounters();
  const [carrier, up, changes, ups, downs] = await Promise.all(
    ['linkstate_carrier', 'linkstate_up', 'linkstate_carrier_changes_total', 'linkstate_carrier_up_changes_total', 'linkstate_carrier_down_changes_total'].map(
      (m) => perDevice(prom, m),
    ),
  );
  const out: string[] = [];
  for (const device of DEVICES) {
    const k = kernel.get(device);
    assert.ok(k, `kernel has ${device}`);
    // sysfs refuses `carrier` of an admin-down device (EINVAL); netlink's IFLA_CARRIER is 0 there.
    const want = { carrier: k.carrier ?? 0, up: k.adminUp ? 1 : 0, changes: k.carrierChanges, ups: k.up, downs: k.down };
    const got = { carrier: carrier!.get(device), up: up!.get(device), changes: changes!.get(device), ups: ups!.get(device), downs: downs!.get(device) };
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${device}: prometheus ${JSON.stringify(got)} != kernel ${JSON.stringify(want)}`);
  }
  return out;
}

async function expectAgreement(prom: PrometheusServer, ns: Netns, when: string): Promise<void> {
  let last: string[] = [];
  await waitFor(
    `Prometheus to agree with the kernel ${when}`,
    async () => {
      last = await mismatches(prom, ns);
      return last.length === 0;
    },
    15_000,
    250,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${last.join('\n')}`);
  });
}

async function firing(prom: PrometheusServer, alertname: string): Promise<Set<string>> {
  const samples = await prom.query(`ALERTS{alertname="${alertname}", alertstate="firing", job="${JOB}"}`);
  return new Set(samples.map((s) => s.metric['device'] ?? ''));
}

test('a real Prometheus with the shipped rules and dashboard, scraping the exporter while links flap', { timeout: 180_000 }, async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'prometheus', 'prometheus')) return;
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-e2e-prometheus-'));
  const ns = await createNetns('lse-prom');
  let leave: (() => void) | undefined;
  let exporter: RunningExporter | undefined;
  let prom: PrometheusServer | undefined;
  try {
    // lnkN <-> peerN veth pairs, all up. Only lnkN are exported: setting peerN down takes lnkN's
    // carrier away while lnkN stays administratively up.
    await ns.ipBatch([
      ...DEVICES.flatMap((d, i) => [`link add ${d} type veth peer name peer${i + 1}`, `link set ${d} up`, `link set peer${i + 1} up`]),
      // a bridge port (the bridge itself is not exported), for the bridge port state panel
      'link add lsebr0 type bridge',
      `link set ${DEVICES[DEVICES.length - 1]} master lsebr0`,
      'link set lsebr0 up',
    ]);
    leave = enterNetns(ns.name);
    exporter = await startExporter(ns, ['--collector.device-include=lnk[0-9]+'], { port: EXPORTER_PORT });
    // alerts.yml as a user with job node-links has it: the selector replaced where it says.
    const shipped = readRepoFile('deploy/prometheus/alerts.yml');
    assert.equal(exporterJobSelector(shipped), 'job=~"linkstate-exporter.*"');
    const rulesFile = join(dir, 'alerts.yml');
    writeFileSync(rulesFile, withExporterJobSelector(shipped, `job="${JOB}"`));
    prom = await startPrometheus(ns, {
      dir,
      port: PROMETHEUS_PORT,
      ruleFiles: [rulesFile],
      jobName: JOB,
      targets: [INSTANCE],
      extraJobs: [{ jobName: OTHER_JOB, targets: [`127.0.0.1:${PROMETHEUS_PORT}`] }],
      interval: '1s',
    });
    const p = prom;
    await waitFor('a successful scrape', async () => (await p.query(`up{job="${JOB}"} == 1`)).length === 1, 20_000, 250);
    await waitFor('Prometheus scraping itself', async () => (await p.query(`up{job="${OTHER_JOB}"} == 1`)).length === 1, 20_000, 250);
    await expectAgreement(p, ns, 'after start');
    const rules = await fetch(`${p.base}/api/v1/rules`).then((r) => r.json() as Promise<{ data: { groups: { rules: { name: string }[] }[] } }>);
    assert.deepEqual(
      rules.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort(),
      [
        'BridgePortBlocking',
        'LinkCarrierDown',
        'LinkFlapping',
        'LinkHalfDuplex',
        'LinkNeighborChanged',
        'LinkSpeedDegraded',
        'LinkStateExporterDown',
        'LinkStateNetlinkOverruns',
      ],
      'Prometheus loaded the shipped rules',
    );

    // The scenario, all at once:
    // - peer1 down and held: lnk1 up without carrier → LinkCarrierDown after its `for:`;
    // - peer2 flapped STORM_FLAPS times in one batch (milliseconds, between two scrapes), left up;
    // - lnk3 set administratively down: its carrier goes too, and nothing may alert;
    // - lnk4 untouched.
    const heldSince = Date.now();
    await ns.ipBatch([
      'link set peer1 down',
      'link set lnk3 down',
      ...Array.from({ length: STORM_FLAPS }, () => ['link set peer2 down', 'link set peer2 up']).flat(),
    ]);
    const kernel = await ns.kernelCounters();
    assert.equal(kernel.get('lnk1')?.carrier, 0, 'lnk1 lost its carrier');
    assert.equal(kernel.get('lnk3')?.adminUp, false, 'lnk3 is admin down');
    assert.equal(kernel.get('lnk2')?.carrier, 1, 'lnk2 has its carrier back');

    // 1. Prometheus's samples equal the kernel's counts (and the storm is entirely in them).
    await expectAgreement(p, ns, 'after the flaps');
    const storm = one(await p.query(`increase(linkstate_carrier_down_changes_total{device="lnk2"}[1m])`), 'lnk2 increase');
    assert.ok(storm >= STORM_FLAPS, `Prometheus sees all ${STORM_FLAPS} losses of lnk2 (${storm})`);

    // 2. The flap storm raises LinkFlapping for lnk2 only: one loss (lnk1, lnk3) is no flapping.
    await waitFor('LinkFlapping for lnk2', async () => (await firing(p, 'LinkFlapping')).has('lnk2'), 15_000, 250);
    assert.deepEqual([...(await firing(p, 'LinkFlapping'))], ['lnk2']);

    // 3. The dashboard's variables, asked as Grafana asks (label_values → /api/v1/label/…/values),
    //    in order: job (All is every listed job), then instance and device (each a selection).
    //    Prometheus's own job has up, scrape_duration_seconds and process_* too, but no exporter.
    const dashboard = loadDashboard();
    const variable = (name: string): string => {
      const v = dashboard.templating.list.find((x) => x.name === name);
      const selector = v === undefined ? undefined : variableSelector(v);
      assert.ok(selector, `variable ${name}`);
      return selector;
    };
    const values: Record<string, string> = { __interval: '1m', __rate_interval: '15s', __range: '5m' };
    const jobs = await p.labelValues('job', variable('job'));
    assert.deepEqual(jobs, [JOB], `the job variable lists the exporter's job only (not ${OTHER_JOB})`);
    values['job'] = grafanaRegexValue(jobs);
    const instances = await p.labelValues('instance', fillVariables(variable('instance'), values));
    assert.deepEqual(instances, [INSTANCE], 'the instance variable lists the exporter');
    values['instance'] = grafanaRegexValue(instances);
    //    The host's links have no netns label: the netns variable lists nothing, and its All (the
    //    allValue, which Grafana puts in as it is) must still match them.
    const namespaces = await p.labelValues('netns', fillVariables(variable('netns'), values));
    assert.deepEqual(namespaces, [], 'the netns variable lists no namespace: the host links have no netns label');
    const allNetns = dashboard.templating.list.find((x) => x.name === 'netns')?.['allValue'];
    assert.equal(typeof allNetns, 'string', 'the netns variable has an allValue');
    values['netns'] = String(allNetns);
    const devices = await p.labelValues('device', fillVariables(variable('device'), values));
    assert.deepEqual(devices, [...DEVICES], 'the device variable lists exactly the exported devices');
    values['device'] = grafanaRegexValue(devices);
    assert.equal(values['instance'], '127\\\\.0\\\\.0\\\\.1:10071', 'Grafana regex-escapes the values');

    //    Every dashboard expression, variables filled in, returns data, and none from Prometheus's
    //    own job although it has up, scrape_duration_seconds and process_* too. With $job set to
    //    a job that does not exist (instance and device to All), none returns anything: each
    //    query selects on the job it is given, not on a name written into it.
    const empty: string[] = [];
    const leaked: string[] = [];
    const noJob = { ...values, job: 'no-such-job', instance: '.+', netns: String(allNetns), device: '.+' };
    // A namespace that does not exist: no link is in it.
    const noNetns = { ...values, netns: 'no-such-netns' };
    let perLink = 0;
    for (const { where, expr } of dashboardExpressions(dashboard)) {
      const filled = fillVariables(expr, values);
      const samples = await p.query(filled);
      // Only a PHY driver reports advertised link modes and a down reason (ethtool's extended
      // state); no device a test can build here does, so these two queries may be empty. They
      // still ran (p.query throws on a bad expression), and their families are covered by the
      // golden /metrics built from uapi-layout replies.
      const phyOnly = /^linkstate_(advertised_speed_max_bytes|carrier_down_reason)\{[^}]*\}$/.test(filled.trim());
      if (samples.length === 0 && !phyOnly) empty.push(`${where}: ${filled}`);
      for (const s of samples) if (s.metric['job'] !== undefined && s.metric['job'] !== JOB) leaked.push(`${where}: ${JSON.stringify(s.metric)}`);
      if (where === 'variable job') continue; // lists the jobs: takes no $job
      const other = fillVariables(expr, noJob);
      const got = await p.query(other);
      if (got.length > 0) leaked.push(`${where}: ${other} → ${JSON.stringify(got.map((x) => x.metric))}`);
      if (where === 'variable netns' || !vectorSelectors(expr).some((s) => isPerLinkMetric(s.metric))) continue;
      perLink++;
      const elsewhere = fillVariables(expr, noNetns);
      const inNs = await p.query(elsewhere);
      if (inNs.length > 0) leaked.push(`${where}: ${elsewhere} → ${JSON.stringify(inNs.map((x) => x.metric))}`);
    }
    assert.ok(perLink >= 15, `${perLink} per-link expressions checked with a namespace that does not exist`);
    assert.deepEqual(empty, [], 'dashboard expressions without data');
    assert.deepEqual(leaked, [], 'dashboard expressions with data from another job or another network namespace');

    // 4. LinkCarrierDown fires for lnk1 once the rule's own `for:` has passed — not before.
    const holdMs = ruleFor('LinkCarrierDown');
    assert.ok(holdMs <= 90_000, `LinkCarrierDown for: ${holdMs} ms fits in this test`);
    const pending = await p.alerts();
    assert.ok(
      pending.some((a) => a.labels['alertname'] === 'LinkCarrierDown' && a.labels['device'] === 'lnk1' && a.state === 'pending'),
      `LinkCarrierDown for lnk1 is pending before its ${holdMs} ms: ${JSON.stringify(pending.map((a) => [a.labels['alertname'], a.labels['device'], a.state]))}`,
    );
    await waitFor('LinkCarrierDown for lnk1', async () => (await firing(p, 'LinkCarrierDown')).has('lnk1'), holdMs + 20_000, 500);
    assert.ok(Date.now() - heldSince >= holdMs, 'it did not fire before its for: duration');
    const alert = (await p.alerts()).find((a) => a.labels['alertname'] === 'LinkCarrierDown' && a.state === 'firing');
    assert.ok(alert);
    assert.equal(alert.labels['device'], 'lnk1');
    assert.equal(alert.labels['instance'], INSTANCE);
    assert.equal(alert.labels['severity'], 'warning');
    assert.match(alert.annotations['description'] ?? '', /lnk1 on 127\.0\.0\.1:10071/);
    assert.match(alert.annotations['summary'] ?? '', /lnk1 on 127\.0\.0\.1:10071/);

    // 5. The admin-down lnk3 raised nothing, ever (not even pending), although it has had no
    //    carrier for as long as lnk1; and the storm did not make lnk2 fire LinkCarrierDown.
    assert.deepEqual(await p.query(`max_over_time(ALERTS{device="lnk3"}[5m])`), [], 'no alert for the admin-down lnk3');
    assert.deepEqual(await p.query(`max_over_time(ALERTS{device="lnk4"}[5m])`), [], 'no alert for the untouched lnk4');
    assert.deepEqual(await p.query(`max_over_time(ALERTS{alertname="LinkCarrierDown", device="lnk2", alertstate="firing"}[5m])`), []);
    const all = await p.query('ALERTS{alertstate="firing"}');
    assert.deepEqual(
      all.map((s) => `${s.metric['alertname']}/${s.metric['device']}`).sort(),
      ['LinkCarrierDown/lnk1', 'LinkFlapping/lnk2'],
      'exactly the expected alerts fire (no exporter-down, no overruns)',
    );
    await expectAgreement(p, ns, 'at the end');

    // 6. The adapted job selector is live: with the exporter gone, LinkStateExporterDown goes
    //    pending (its 5 minutes are not waited for) for job node-links, and for nothing else.
    await exporter.stop();
    exporter = undefined;
    const down = await waitFor(
      'LinkStateExporterDown pending',
      async () => {
        const now = (await p.alerts()).filter((a) => a.labels['alertname'] === 'LinkStateExporterDown');
        return now.length > 0 && now;
      },
      15_000,
      250,
    );
    assert.deepEqual(
      down.map((a) => [a.labels['job'], a.labels['instance'], a.state]),
      [[JOB, INSTANCE, 'pending']],
      'LinkStateExporterDown for the stopped exporter only',
    );
    t.diagnostic(`took ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    await exporter?.stop().catch(() => undefined);
    leave?.();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
