// The proof of deploy/prometheus and grafana/ against the real thing, up to the page: Debian's
// Prometheus, with a 1 s scrape and evaluation interval and the shipped deploy/prometheus/alerts.yml
// (no shortened `for:`; changed only where its header tells users to: the EXPORTER JOB SELECTOR,
// and linkstate:alerting_links widened to every link), scrapes the built exporter as job
// `node-links` and itself as job `prometheus`, and sends its alerts to Debian's Alertmanager, which
// routes every alert to a webhook receiver this test runs. All inside a throwaway network
// namespace, whose lab holds each false-positive class and the two real ones:
// - amtap0, a tap held open as a VM would, whose carrier goes off: cause carrier, LinkCarrierDown;
// - ammv0, a macvlan on amtap0: lower_layer, no page (one cable, one page);
// - ambr0, a bridge whose last port leaves: no_active_members, no page;
// - amveth0, a veth set down and up five times (its peer amveth1 loses carrier with it): admin and
//   lower_layer, no LinkFlapping;
// - amfast0, a tap whose reader closes and reopens it faster than linkwatch announces: causes
//   carrier and unknown, LinkFlapping;
// - ampd0, a macvlan on amtap0 held protodown: LinkProtoDown pending (its 5 minutes not waited for).
// Exactly two notifications must reach the webhook (amtap0's LinkCarrierDown naming its cause, and
// amfast0's LinkFlapping), none for the others; the time from the carrier loss to the webhook is
// printed. Through Prometheus's HTTP API meanwhile: its counters equal the kernel's, the losses by
// cause add up to the kernel's carrier_down since the exporter started, every dashboard expression
// returns data (none from the job prometheus), and stopping the exporter makes
// LinkStateExporterDown pending for job node-links. It takes a little over a minute, because
// LinkCarrierDown's `for:` is one minute.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { startAlertmanager, startWebhookReceiver, type AlertmanagerServer, type WebhookAlert, type WebhookReceiver } from '../helpers/alertmanager.js';
import { dashboardExpressions, fillVariables, grafanaRegexValue, isPerLinkMetric, loadDashboard, variableSelector, vectorSelectors } from '../helpers/dashboard.js';
import { startExporter, type RunningExporter } from '../helpers/exporter.js';
import { createNetns, enterNetns, requireRoot, type KernelLinkCounters, type Netns } from '../helpers/netns.js';
import {
  alertingLinksExpr,
  exporterJobSelector,
  startPrometheus,
  withAlertingLinks,
  withExporterJobSelector,
  type PrometheusServer,
  type Sample,
} from '../helpers/prometheus.js';
import { readRepoFile, requireCommand, waitFor } from '../helpers/repo.js';
import { holdTap } from '../helpers/tap.js';

const EXPORTER_PORT = 10071;
const PROMETHEUS_PORT = 9090;
const ALERTMANAGER_PORT = 9093;
const INSTANCE = `127.0.0.1:${EXPORTER_PORT}`;
// Not a name the shipped selector matches: the dashboard must not care, and alerts.yml is adapted
// in its one place.
const JOB = 'node-links';
const OTHER_JOB = 'prometheus';
const DEVICES = ['ambp0', 'ambp1', 'ambr0', 'ambr1', 'amfast0', 'ammv0', 'ampd0', 'amtap0', 'amveth0', 'amveth1'] as const;
/** Every link of the lab pages: the alerting set as README tells users to widen it. */
const EVERY_LINK = 'max by (instance, job, device, netns) (linkstate_info)';
const RUNBOOKS = 'https://runbooks.example.net/linkstate.html';
const FAST_FLAPS = 12;
const ADMIN_FLAPS = 5;

/** The `for:` of a rule in the shipped alerts.yml, in ms ("1m" → 60000). */
function ruleFor(alert: string): number {
  const file = parse(readRepoFile('deploy/prometheus/alerts.yml')) as { groups: { rules: { alert?: string; for?: string }[] }[] };
  const rule = file.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  assert.ok(rule, alert);
  const match = /^(\d+)(s|m)$/.exec(rule.for ?? '0s');
  assert.ok(match, `${alert} for: ${rule.for}`);
  return Number(match[1]) * (match[2] === 'm' ? 60_000 : 1000);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Prometheus's latest value of METRIC per device. */
async function perDevice(prom: PrometheusServer, metric: string): Promise<Map<string, number>> {
  const samples = await prom.query(`${metric}{job="${JOB}"}`);
  return new Map(samples.map((s) => [s.metric['device'] ?? '', s.value]));
}

/**
 * Differences between Prometheus's view and the kernel's, for every lab device: state and counters,
 * and the losses by cause, whose sum must be the kernel's carrier_down minus its value when the
 * exporter started (BASE).
 */
async function mismatches(prom: PrometheusServer, ns: Netns, base: Map<string, KernelLinkCounters>): Promise<string[]> {
  const kernel = await ns.kernelCounters();
  const [carrier, up, changes, ups, downs] = await Promise.all(
    ['linkstate_carrier', 'linkstate_up', 'linkstate_carrier_changes_total', 'linkstate_carrier_up_changes_total', 'linkstate_carrier_down_changes_total'].map(
      (m) => perDevice(prom, m),
    ),
  );
  const losses = new Map((await prom.query(`sum by (device) (linkstate_carrier_losses_total{job="${JOB}"})`)).map((s) => [s.metric['device']!, s.value]));
  const out: string[] = [];
  for (const device of DEVICES) {
    const k = kernel.get(device);
    const b = base.get(device);
    assert.ok(k && b, `kernel has ${device}`);
    // sysfs refuses `carrier` of an admin-down device (EINVAL); netlink's IFLA_CARRIER is 0 there.
    const want = { carrier: k.carrier ?? 0, up: k.adminUp ? 1 : 0, changes: k.carrierChanges, ups: k.up, downs: k.down, losses: k.down - b.down };
    const got = {
      carrier: carrier!.get(device),
      up: up!.get(device),
      changes: changes!.get(device),
      ups: ups!.get(device),
      downs: downs!.get(device),
      losses: losses.get(device) ?? 0,
    };
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${device}: prometheus ${JSON.stringify(got)} != kernel ${JSON.stringify(want)}`);
  }
  return out;
}

async function expectAgreement(prom: PrometheusServer, ns: Netns, base: Map<string, KernelLinkCounters>, when: string): Promise<void> {
  let last: string[] = [];
  await waitFor(
    `Prometheus to agree with the kernel ${when}`,
    async () => {
      last = await mismatches(prom, ns, base);
      return last.length === 0;
    },
    15_000,
    250,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${last.join('\n')}`);
  });
}

/** The cause of each lab device's current outage, as Prometheus has it. */
async function causes(prom: PrometheusServer): Promise<Record<string, string>> {
  const samples = await prom.query(`linkstate_carrier_down_cause{job="${JOB}"} == 1`);
  return Object.fromEntries(samples.map((s) => [s.metric['device']!, s.metric['cause']!]).sort());
}

const key = (a: WebhookAlert): string => `${a.labels['alertname']}/${a.labels['device'] ?? ''}/${a.status}`;

function received(hook: WebhookReceiver, alertname: string, device: string): number | undefined {
  return hook.notifications.find((n) => n.alerts.some((a) => a.labels['alertname'] === alertname && a.labels['device'] === device))?.receivedAt;
}

test('the shipped rules page once through a real Alertmanager: the cable, the fast flaps, never the plumbing', { timeout: 180_000 }, async (t) => {
  if (!requireRoot(t)) return;
  if (!requireCommand(t, 'prometheus', 'prometheus')) return;
  if (!requireCommand(t, 'prometheus-alertmanager', 'prometheus-alertmanager')) return;
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'linkstate-e2e-alerts-'));
  const ns = await createNetns('lse-am');
  const held: (() => void)[] = [];
  let leave: (() => void) | undefined;
  let exporter: RunningExporter | undefined;
  let prom: PrometheusServer | undefined;
  let am: AlertmanagerServer | undefined;
  let hook: WebhookReceiver | undefined;
  try {
    await ns.ipBatch([
      'tuntap add amtap0 mode tap',
      'tuntap add amfast0 mode tap',
      'link add ammv0 link amtap0 type macvlan mode bridge',
      'link add ampd0 link amtap0 type macvlan mode bridge',
      'link add ambr0 type bridge',
      'link add ambp0 type veth peer name ambp1',
      'link set ambp0 master ambr0',
      // its peer a port of ambr1, which keeps it (the bridge port panel has a port to show)
      'link add ambr1 type bridge',
      'link set ambp1 master ambr1',
      'link add amveth0 type veth peer name amveth1',
      ...['amtap0', 'amfast0', 'ammv0', 'ampd0', 'ambr0', 'ambr1', 'ambp0', 'ambp1', 'amveth0', 'amveth1'].map((d) => `link set ${d} up`),
    ]);
    leave = enterNetns(ns.name);
    // Held open as a VM holds its tap: only then is there a carrier to lose, and `carrier on` allowed.
    held.push(holdTap('amtap0'));
    let fast = holdTap('amfast0');
    held.push(() => fast());
    await waitFor('the lab up, with carrier', async () => {
      const k = await ns.kernelCounters();
      return DEVICES.every((d) => k.get(d)?.carrier === 1);
    }, 10_000, 100);

    exporter = await startExporter(ns, ['--collector.device-include=am.+'], { port: EXPORTER_PORT });
    // The kernel's counters when the exporter first saw the links: the losses by cause count from here.
    const base = await ns.kernelCounters();
    hook = await startWebhookReceiver();
    am = await startAlertmanager(ns, { dir, port: ALERTMANAGER_PORT, webhookUrl: hook.url, groupWait: '1s' });
    // alerts.yml as a user with job node-links who pages for every link has it: the job selector
    // and linkstate:alerting_links replaced where its header says, and nothing else.
    const shipped = readRepoFile('deploy/prometheus/alerts.yml');
    assert.equal(exporterJobSelector(shipped), 'job=~"linkstate-exporter.*"');
    assert.notEqual(alertingLinksExpr(shipped), EVERY_LINK, 'by default, not every link pages');
    const rulesFile = join(dir, 'alerts.yml');
    writeFileSync(rulesFile, withAlertingLinks(withExporterJobSelector(shipped, `job="${JOB}"`), EVERY_LINK));
    prom = await startPrometheus(ns, {
      dir,
      port: PROMETHEUS_PORT,
      ruleFiles: [rulesFile],
      jobName: JOB,
      targets: [INSTANCE],
      extraJobs: [{ jobName: OTHER_JOB, targets: [`127.0.0.1:${PROMETHEUS_PORT}`] }],
      interval: '1s',
      alertmanagers: [`127.0.0.1:${ALERTMANAGER_PORT}`],
      externalLabels: { linkstate_runbook_url: RUNBOOKS },
    });
    const p = prom;
    // Two scrapes before anything happens: the counters have a sample from before the losses.
    await waitFor('two successful scrapes', async () => (await p.query(`count_over_time(up{job="${JOB}"}[1m]) >= 2`)).length === 1, 20_000, 250);
    await waitFor('Prometheus scraping itself', async () => (await p.query(`up{job="${OTHER_JOB}"} == 1`)).length === 1, 20_000, 250);
    await expectAgreement(p, ns, base, 'after start');
    const rules = await fetch(`${p.base}/api/v1/rules`).then((r) => r.json() as Promise<{ data: { groups: { rules: { name: string }[] }[] } }>);
    assert.deepEqual(
      rules.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort(),
      [
        'BridgePortBlocking',
        'LinkCarrierDown',
        'LinkFlapping',
        'LinkHalfDuplex',
        'LinkNeighborChanged',
        'LinkProtoDown',
        'LinkSpeedDegraded',
        'LinkStateExporterDown',
        'LinkStateNetlinkOverruns',
        'linkstate:alerting_links',
      ],
      'Prometheus loaded the shipped rules',
    );
    await waitFor('the widened alerting set', async () => (await p.query('linkstate:alerting_links')).length === DEVICES.length, 10_000, 250);

    // The scenario: ampd0 is held protodown, the carrier of amtap0 goes (its macvlans follow), the
    // bridge's last port leaves, and amfast0's reader closes and reopens it FAST_FLAPS times in a
    // row (microseconds: linkwatch announces a few of these losses at most, the kernel counts all).
    const lostAt = Date.now();
    await ns.ipBatch(['link set ampd0 protodown on', 'link set amtap0 carrier off', 'link set ambp0 nomaster']);
    for (let i = 0; i < FAST_FLAPS; i++) {
      fast();
      fast = holdTap('amfast0');
    }
    // amveth0 set down and up ADMIN_FLAPS times, a little more than a second apart (each one
    // announced, as a script or an operator would do it): its peer loses carrier each time too.
    for (let i = 0; i < ADMIN_FLAPS; i++) {
      await ns.ipBatch(['link set amveth0 down']);
      await sleep(1100);
      await ns.ipBatch(['link set amveth0 up']);
      await sleep(1100);
    }
    // The stacked devices follow their lower device when linkwatch gets to it (up to a second).
    const after = await waitFor(
      'the lab in its new state',
      async () => {
        const k = await ns.kernelCounters();
        return k.get('ammv0')?.operstate === 'lowerlayerdown' && k.get('ambr0')?.carrier === 0 && k;
      },
      10_000,
      100,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify([...(await ns.kernelCounters())])}`);
    });
    assert.equal(after.get('amtap0')?.carrier, 0, 'amtap0 lost its carrier');
    assert.equal(after.get('amfast0')?.carrier, 1, 'amfast0 has its carrier back');
    assert.ok(after.get('amfast0')!.down - base.get('amfast0')!.down >= FAST_FLAPS, 'amfast0 lost carrier each time');
    for (const d of ['amveth0', 'amveth1']) {
      assert.ok(after.get(d)!.down - base.get(d)!.down >= ADMIN_FLAPS, `${d} lost carrier each time: a flap alert on carrier_down alone would page`);
    }

    // 1. Prometheus's samples equal the kernel's counts, and the losses by cause add up.
    await expectAgreement(p, ns, base, 'after the losses');
    await waitFor('the cause of each outage', async () => Object.keys(await causes(p)).length === 4, 10_000, 250);
    assert.deepEqual(await causes(p), { ambr0: 'no_active_members', ammv0: 'lower_layer', ampd0: 'protodown', amtap0: 'carrier' });
    const byCause = await p.query(`linkstate_carrier_losses_total{job="${JOB}", device=~"amveth0|amfast0"}`);
    const count = (device: string, cause: string): number => byCause.find((s) => s.metric['device'] === device && s.metric['cause'] === cause)?.value ?? 0;
    assert.equal(count('amveth0', 'admin'), ADMIN_FLAPS, 'amveth0: every loss counted as admin');
    assert.equal(count('amfast0', 'carrier') + count('amfast0', 'unknown'), after.get('amfast0')!.down - base.get('amfast0')!.down, 'amfast0: every loss carrier or unknown');
    assert.ok(count('amfast0', 'unknown') > 0, `amfast0: losses nobody announced ${JSON.stringify(byCause.map((x) => [x.metric['device'], x.metric['cause'], x.value]))}`);

    // 2. amfast0's LinkFlapping reaches the webhook (it has no `for:`).
    const h = hook;
    await waitFor('LinkFlapping for amfast0 at the webhook', async () => received(h, 'LinkFlapping', 'amfast0') !== undefined, 20_000, 100);

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
      // The LLDP neighbour columns need --collector.lldp and a neighbour, which this exporter has
      // not: empty here too; test/integration/lldp.test.ts fills those families from lldpd.
      const lldpOnly = /^linkstate_lldp_neighbor_(info|stale)\{[^}]*\}$/.test(filled.trim());
      if (samples.length === 0 && !phyOnly && !lldpOnly) empty.push(`${where}: ${filled}`);
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

    // 4. amtap0's LinkCarrierDown reaches the webhook once the rule's own `for:` has passed.
    const holdMs = ruleFor('LinkCarrierDown');
    assert.ok(holdMs <= 90_000, `LinkCarrierDown for: ${holdMs} ms fits in this test`);
    await waitFor('LinkCarrierDown for amtap0 at the webhook', async () => received(h, 'LinkCarrierDown', 'amtap0') !== undefined, holdMs + 30_000, 100);
    const pagedAt = received(h, 'LinkCarrierDown', 'amtap0')!;
    const latency = pagedAt - lostAt;
    assert.ok(latency >= holdMs, `not before its for: (${latency} ms)`);
    t.diagnostic(`carrier loss to webhook: ${latency} ms (LinkCarrierDown for: ${holdMs} ms)`);
    console.log(`carrier loss to webhook: ${latency} ms (LinkCarrierDown for: ${holdMs} ms)`);

    // 5. Stray notifications would come within a group_interval or two: give them five.
    await sleep(5000);
    assert.deepEqual(h.rejected, [], 'only webhook payloads arrived');
    assert.deepEqual(
      h.notifications.map((n) => n.alerts.map(key).join(' ')),
      ['LinkFlapping/amfast0/firing', 'LinkCarrierDown/amtap0/firing'],
      'exactly the expected notifications, one each',
    );
    const page = h.notifications[1]!.alerts[0]!;
    assert.equal(page.labels['cause'], 'carrier');
    assert.equal(page.labels['instance'], INSTANCE);
    assert.equal(page.labels['severity'], 'warning');
    assert.equal(page.labels['linkstate_runbook_url'], RUNBOOKS, 'external labels go onto the alert');
    assert.equal(page.annotations['summary'], `amtap0 on ${INSTANCE} has no carrier`);
    assert.match(page.annotations['description'] ?? '', /^Interface amtap0 on 127\.0\.0\.1:10071 is administratively up but has had no carrier for more than 1 minute\. Cause: carrier, the medium itself/);
    assert.equal(page.annotations['runbook_url'], `${RUNBOOKS}#linkcarrierdown`, 'runbook_url on the page named by the external label');
    const flap = h.notifications[0]!.alerts[0]!;
    assert.match(flap.annotations['description'] ?? '', /^Interface amfast0 on 127\.0\.0\.1:10071 lost carrier \d+ times in the last 10 minutes on the medium/);
    assert.match(flap.annotations['description'] ?? '', /Losses by cause since the exporter started: (carrier \d+|unknown \d+|carrier \d+, unknown \d+)\.$/);
    assert.equal(flap.annotations['runbook_url'], `${RUNBOOKS}#linkflapping`);

    // 6. The plumbing never had an alert, not even pending; nothing else ever fired. (amfast0 may
    //    have had a LinkCarrierDown pending: a scrape can fall into one of its outages, which its
    //    `for:` keeps from paging; ampd0's LinkProtoDown is pending, its 5 minutes not waited for.)
    const ever = (await p.query('max_over_time(ALERTS[5m])')).map((s) => `${s.metric['alertname']}/${s.metric['device']}/${s.metric['alertstate']}`);
    assert.deepEqual(
      ever.filter((a) => /\/(ammv0|ambr0|ambr1|ambp0|ambp1|amveth0|amveth1)\//.test(a)),
      [],
      'no alert, not even pending, for the macvlan, the bridges and the veths',
    );
    assert.deepEqual(ever.filter((a) => a.endsWith('/firing')).sort(), ['LinkCarrierDown/amtap0/firing', 'LinkFlapping/amfast0/firing']);
    assert.ok(ever.includes('LinkProtoDown/ampd0/pending'), `LinkProtoDown pending for ampd0: ${ever.join(' ')}`);
    await expectAgreement(p, ns, base, 'at the end');

    // 7. The adapted job selector is live: with the exporter gone, LinkStateExporterDown goes
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
  } catch (error) {
    if (am !== undefined) t.diagnostic(`alertmanager log:\n${am.log()}`);
    if (prom !== undefined) t.diagnostic(`prometheus log:\n${prom.log()}`);
    if (hook !== undefined) t.diagnostic(`notifications: ${JSON.stringify(hook.notifications.map((n) => n.alerts.map(key)))}`);
    throw error;
  } finally {
    await exporter?.stop().catch(() => undefined);
    await hook?.close();
    for (const release of held) release();
    leave?.();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
