// The built exporter against the real kernel: a fresh network namespace with veth pairs, the
// exporter running inside it as a child process, scraped over HTTP, compared with the kernel's
// own counters from sysfs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { byDevice, parseSamples, sampleValue, type Sample } from '../helpers/exposition.js';
import { expectForgedDropped } from '../helpers/forge.js';
import { expectExact, kernelMismatches, linkSocketPortId } from '../helpers/kernel-match.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';

const PAIRS = 12;

async function scrape(exporter: RunningExporter): Promise<Sample[]> {
  const res = await exporter.get('/metrics');
  assert.equal(res.status, 200);
  return parseSamples(res.text);
}

const expectExactFrom = (ns: Netns, exporter: RunningExporter): Promise<Sample[]> => expectExact(ns, () => scrape(exporter));


describe('exporter in a network namespace', { timeout: 240_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-e2e');
    const lines: string[] = [];
    for (let i = 0; i < PAIRS; i++) lines.push(`link add lnk${i} type veth peer name peer${i}`);
    for (let i = 0; i < PAIRS; i++) lines.push(`link set lnk${i} up`, `link set peer${i} up`);
    await ns.ipBatch(lines);
    leave = enterNetns(ns.name);
    exporter = await startExporter(ns);
  });

  after(async () => {
    if (exporter) await exporter.stop();
    leave?.();
    if (ns) await ns.destroy();
  });

  it('is ready only with the dump applied, and lists every interface of the namespace', async (t) => {
    if (!requireRoot(t)) return;
    await eventually('ready', async () => (await exporter.get('/-/ready')).status === 200);
    const samples = await scrape(exporter);
    const kernel = await ns.kernelCounters();
    const exported = new Set(byDevice(samples, 'linkstate_up').keys());
    assert.deepEqual([...exported].sort(), [...kernel.keys()].sort());
    assert.equal(exported.size, 1 + 2 * PAIRS);
    assert.equal(sampleValue(samples, 'linkstate_exporter_links'), exported.size);
    assert.deepEqual(kernelMismatches(samples, kernel), []);
    assert.equal(sampleValue(samples, 'linkstate_info', { device: 'lnk0', kind: 'veth' }), 1);
    assert.equal(sampleValue(samples, 'linkstate_oper_state', { device: 'lnk0', state: 'up' }), 1);
    assert.equal(sampleValue(samples, 'linkstate_mtu_bytes', { device: 'lnk0' }), 1500);
    assert.equal(sampleValue(samples, 'linkstate_exporter_build_info', { nodejs: process.version }), 1);
    // the start-up log line names the receive buffer the kernel granted
    await exporter.logged(/linkstate-exporter started.*receive_buffer_bytes=\d+/);
  });

  it('after flaps, every device’s three counters and carrier gauge equal the kernel’s, exactly', async (t) => {
    if (!requireRoot(t)) return;
    const lines: string[] = [];
    for (let i = 0; i < 6; i++) for (let n = 0; n <= i * 3; n++) lines.push(`link set peer${i} down`, `link set peer${i} up`);
    lines.push('link set peer6 down'); // stays down: lnk6 loses carrier
    lines.push('link set lnk7 down'); // admin down
    await ns.ipBatch(lines);
    const samples = await expectExactFrom(ns, exporter);
    assert.equal(sampleValue(samples, 'linkstate_carrier', { device: 'lnk6' }), 0);
    assert.equal(sampleValue(samples, 'linkstate_up', { device: 'lnk6' }), 1);
    assert.equal(sampleValue(samples, 'linkstate_oper_state', { device: 'lnk6', state: 'lowerlayerdown' }), 1);
    assert.equal(sampleValue(samples, 'linkstate_up', { device: 'lnk7' }), 0);
    assert.equal(sampleValue(samples, 'linkstate_oper_state', { device: 'lnk7', state: 'down' }), 1);
    const stamp = sampleValue(samples, 'linkstate_carrier_last_change_timestamp_seconds', { device: 'lnk6' });
    assert.ok(stamp !== undefined && Math.abs(stamp - Date.now() / 1000) < 30, `last change ${stamp}`);
    await exporter.logged(/msg="carrier changed".*device=lnk6 from=up to=down/);
    // lnk6 is admin up without carrier: its down clock runs; lnk7 is admin down: no down time
    await new Promise((r) => setTimeout(r, 300));
    const later = await scrape(exporter);
    const down6 = sampleValue(later, 'linkstate_carrier_down_seconds_total', { device: 'lnk6' }) ?? 0;
    assert.ok(down6 > 0.2, `lnk6 down seconds ${down6}`);
    assert.equal(sampleValue(later, 'linkstate_carrier_down_seconds_total', { device: 'lnk7' }), 0);
  });

  it('a rename moves the series to the new device label', async (t) => {
    if (!requireRoot(t)) return;
    const before = await scrape(exporter);
    const changes = sampleValue(before, 'linkstate_carrier_changes_total', { device: 'lnk3' });
    await ns.ipBatch(['link set lnk3 down', 'link set lnk3 name uplink3', 'link set uplink3 up']);
    const samples = await expectExactFrom(ns, exporter);
    assert.equal(byDevice(samples, 'linkstate_up').has('lnk3'), false);
    assert.equal(sampleValue(samples, 'linkstate_up', { device: 'uplink3' }), 1);
    assert.ok((sampleValue(samples, 'linkstate_carrier_changes_total', { device: 'uplink3' }) ?? 0) >= (changes ?? Infinity));
    assert.ok(samples.every((s) => s.labels['device'] !== 'lnk3'));
  });

  it('a delete removes the series of both ends of the pair', async (t) => {
    if (!requireRoot(t)) return;
    await ns.ipBatch(['link del lnk4']);
    const samples = await expectExactFrom(ns, exporter);
    assert.ok(samples.every((s) => s.labels['device'] !== 'lnk4' && s.labels['device'] !== 'peer4'));
    assert.equal(sampleValue(samples, 'linkstate_exporter_links'), 1 + 2 * PAIRS - 2);
  });

  it('drops and counts a netlink message forged by a user-space process', async (t) => {
    if (!requireRoot(t)) return;
    const portId = linkSocketPortId(exporter.child.pid!);
    await expectForgedDropped(portId, () => scrape(exporter));
    await exporter.logged(/reason=foreign_sender/);
  });

  it('a storm against a tiny receive buffer overruns, and the counters are still exact; /metrics answers throughout', async (t) => {
    if (!requireRoot(t)) return;
    const tiny = await startExporter(ns, ['--netlink.receive-buffer-bytes=4096', '--log.level=warn']);
    try {
      await eventually('tiny exporter ready', async () => (await tiny.get('/-/ready')).status === 200);
      const peers = [0, 1, 2, 5, 8, 9, 10, 11].map((i) => `peer${i}`);
      const storm: string[] = [];
      for (let round = 0; round < 400; round++) for (const p of peers) storm.push(`link set ${p} down`, `link set ${p} up`);
      const stormDone = ns.ipBatch(storm);
      let finished = false;
      void stormDone.finally(() => (finished = true));
      // scrape both exporters while the storm runs: every scrape answers, and promptly
      let scrapes = 0;
      let slowest = 0;
      while (!finished) {
        const t0 = Date.now();
        const [a, b] = await Promise.all([tiny.get('/metrics'), exporter.get('/metrics')]);
        slowest = Math.max(slowest, Date.now() - t0);
        assert.equal(a.status, 200);
        assert.equal(b.status, 200);
        scrapes++;
      }
      await stormDone;
      assert.ok(scrapes >= 3, `only ${scrapes} scrapes during the storm`);
      assert.ok(slowest < 2000, `a scrape took ${slowest} ms during the storm`);
      const samples = await expectExactFrom(ns, tiny);
      const overruns = sampleValue(samples, 'linkstate_exporter_netlink_overruns_total') ?? 0;
      assert.ok(overruns > 0, 'a 4 KiB receive buffer must overrun during the storm');
      assert.ok((sampleValue(samples, 'linkstate_exporter_netlink_resyncs_total') ?? 0) >= 1);
      await tiny.logged(/overrun \(ENOBUFS\)/);
      await expectExactFrom(ns, exporter);
    } finally {
      await tiny.stop();
    }
  });

  it('exits 0 within a second of SIGTERM', async (t) => {
    if (!requireRoot(t)) return;
    const result = await exporter.stop();
    assert.equal(result.code, 0);
    assert.ok(result.ms < 1000, `exit took ${result.ms} ms`);
  });
});
