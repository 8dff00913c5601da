// The built exporter against the real kernel for what the link is doing: speed, duplex and
// autonegotiation from ethtool netlink (veth, a tap changed with `ethtool -s`), LINKSTATE asked
// with ETHTOOL_FLAG_STATS (taken, no PHY link-down count for veth or tap), bridge port STP
// state from a bridge with kernel STP and a loop, a storm with the ethtool client on, and
// --no-collector.ethtool opening no ethtool socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NETLINK_GENERIC } from '../../src/netlink/constants.js';
import { eventually, startExporter, type RunningExporter } from '../helpers/exporter.js';
import { byDevice, parseSamples, sampleValue, type Sample } from '../helpers/exposition.js';
import { expectExact, netlinkSocketsOf } from '../helpers/kernel-match.js';
import { createNetns, enterNetns, requireRoot, type Netns } from '../helpers/netns.js';

async function scrape(exporter: RunningExporter): Promise<Sample[]> {
  const res = await exporter.get('/metrics');
  assert.equal(res.status, 200);
  return parseSamples(res.text);
}

/** Netlink protocols of the sockets a process holds. */
const netlinkProtocols = (pid: number): number[] => netlinkSocketsOf(pid).map((socket) => socket.protocol);

const MBPS = 125_000;
const BRIDGE_STATES = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'];

/** The bridge port state the exporter shows for a device (the state whose sample is 1), or undefined. */
function portState(samples: readonly Sample[], device: string): string | undefined {
  const ones = samples.filter((s) => s.name === 'linkstate_bridge_port_state' && s.labels['device'] === device && s.value === 1);
  assert.ok(ones.length <= 1, `one state at a time for ${device}`);
  return ones[0]?.labels['state'];
}

describe('ethtool and bridge port state against the real kernel', { timeout: 180_000 }, () => {
  let ns: Netns;
  let leave: (() => void) | undefined;
  let exporter: RunningExporter;

  before(async (t) => {
    if (!requireRoot(t as never)) return;
    ns = await createNetns('lsx-ethtool');
    await ns.ipBatch(['link add eva type veth peer name evb', 'link set eva up', 'link set evb up', 'tuntap add tap0 mode tap']);
    leave = enterNetns(ns.name);
    exporter = await startExporter(ns);
    await eventually('ready', async () => (await exporter.get('/-/ready')).status === 200);
  });

  after(async () => {
    if (exporter) await exporter.stop();
    leave?.();
    if (ns) await ns.destroy();
  });

  it('a veth reports 10000 Mb/s, full duplex, autonegotiation off; lo (EOPNOTSUPP) has no such series', async (t) => {
    if (!requireRoot(t)) return;
    const samples = await eventually('veth speed', async () => {
      const s = await scrape(exporter);
      return sampleValue(s, 'linkstate_speed_bytes', { device: 'eva' }) !== undefined && sampleValue(s, 'linkstate_speed_bytes', { device: 'evb' }) !== undefined ? s : undefined;
    });
    for (const device of ['eva', 'evb']) {
      assert.equal(sampleValue(samples, 'linkstate_speed_bytes', { device }), 10000 * MBPS);
      assert.equal(sampleValue(samples, 'linkstate_duplex', { device, duplex: 'full' }), 1);
      assert.equal(sampleValue(samples, 'linkstate_duplex', { device, duplex: 'half' }), 0);
      assert.equal(sampleValue(samples, 'linkstate_duplex', { device, duplex: 'unknown' }), 0);
      assert.equal(sampleValue(samples, 'linkstate_autonegotiation', { device }), 0);
    }
    // what ethtool(8) itself says about the same device
    const text = await ns.run('ethtool', ['eva']);
    assert.match(text, /Speed: 10000Mb\/s/);
    assert.match(text, /Duplex: Full/);
    assert.match(text, /Auto-negotiation: off/);
    // lo has no link modes: absent, never 0; no retry loop either (see the request count below)
    assert.equal(sampleValue(samples, 'linkstate_speed_bytes', { device: 'lo' }), undefined);
    assert.equal(byDevice(samples, 'linkstate_duplex').has('lo'), false);
    // veth has no down reason, SQI or advertised modes
    assert.equal(samples.some((s) => s.name === 'linkstate_carrier_down_reason' || s.name === 'linkstate_sqi'), false);
    assert.equal(sampleValue(samples, 'linkstate_advertised_speed_max_bytes', { device: 'eva' }), undefined);
    // the family was resolved (the speed above came from it), so "not available" was never said
    const log = await exporter.logged(/msg="ethtool netlink family resolved"/);
    assert.doesNotMatch(log, /ethtool netlink not available/);
    // LINKSTATE went with ETHTOOL_FLAG_STATS and this kernel took it for a veth, which has no
    // stats: no fallback to requests without it, no refusal; and veth reports no PHY count, so
    // there is no series at all (absent, not 0)
    assert.doesNotMatch(log, /refuses ETHTOOL_FLAG_STATS|ethtool request refused/);
    assert.equal(sampleValue(samples, 'linkstate_phy_link_down_events_total', { device: 'eva' }), undefined);
    assert.equal(samples.some((s) => s.name === 'linkstate_phy_link_down_events_total'), false);
  });

  it('scrapes cause no ethtool requests; `ethtool -s tap0 speed 100 duplex half autoneg off` shows within a second', async (t) => {
    if (!requireRoot(t)) return;
    await eventually('tap0 speed', async () => sampleValue(await scrape(exporter), 'linkstate_speed_bytes', { device: 'tap0' }) !== undefined);
    const before = sampleValue(await scrape(exporter), 'linkstate_exporter_ethtool_requests_total');
    assert.ok(before !== undefined && before > 0);
    for (let i = 0; i < 5; i++) await scrape(exporter);
    assert.equal(sampleValue(await scrape(exporter), 'linkstate_exporter_ethtool_requests_total'), before, 'no scrape-driven polling');

    const t0 = Date.now();
    await ns.run('ethtool', ['-s', 'tap0', 'speed', '100', 'duplex', 'half', 'autoneg', 'off']);
    const samples = await eventually(
      'tap0 at 100 Mb/s half duplex',
      async () => {
        const s = await scrape(exporter);
        return sampleValue(s, 'linkstate_speed_bytes', { device: 'tap0' }) === 100 * MBPS && sampleValue(s, 'linkstate_duplex', { device: 'tap0', duplex: 'half' }) === 1 ? s : undefined;
      },
      1000,
      20,
    );
    assert.ok(Date.now() - t0 < 1000 + 500, 'within a second of the change');
    assert.equal(sampleValue(samples, 'linkstate_duplex', { device: 'tap0', duplex: 'full' }), 0);
    assert.equal(sampleValue(samples, 'linkstate_autonegotiation', { device: 'tap0' }), 0);
    assert.match(await ns.run('ethtool', ['tap0']), /Speed: 100Mb\/s[\s\S]*Duplex: Half/);
    // tap0 answered LINKSTATE (with ETHTOOL_FLAG_STATS) too, with no PHY link-down count: no series
    assert.equal(samples.some((s) => s.name === 'linkstate_phy_link_down_events_total'), false);
    assert.doesNotMatch(await exporter.logged(/./), /refuses ETHTOOL_FLAG_STATS|ethtool request refused/);
  });

  it('a bridge with kernel STP and a loop: one port blocking, the other forwarding, as `bridge -j link` says', async (t) => {
    if (!requireRoot(t)) return;
    await ns.ipBatch([
      'link add br0 type bridge stp_state 1 forward_delay 200',
      'link add bpa type veth peer name bpb',
      'link set bpa master br0',
      'link set bpb master br0',
      'link set br0 up',
      'link set bpa up',
      'link set bpb up',
    ]);
    const seen = new Set<string>();
    const samples = await eventually(
      'one port blocking and one forwarding',
      async () => {
        const s = await scrape(exporter);
        const a = portState(s, 'bpa');
        const b = portState(s, 'bpb');
        if (a !== undefined) seen.add(a);
        if (b !== undefined) seen.add(b);
        return [a, b].sort().join(',') === 'blocking,forwarding' ? s : undefined;
      },
      20_000,
      100,
    );
    const kernel = JSON.parse(await ns.run('bridge', ['-j', 'link'])) as Array<{ ifname: string; state: string }>;
    const kernelState = new Map(kernel.map((p) => [p.ifname, p.state]));
    assert.equal(portState(samples, 'bpa'), kernelState.get('bpa'));
    assert.equal(portState(samples, 'bpb'), kernelState.get('bpb'));
    // a state set: five samples per port, one of them 1
    for (const device of ['bpa', 'bpb']) {
      const states = samples.filter((s) => s.name === 'linkstate_bridge_port_state' && s.labels['device'] === device).map((s) => s.labels['state']);
      assert.deepEqual(states.sort(), [...BRIDGE_STATES].sort());
    }
    // the bridge itself and non-ports have no port state
    assert.equal(portState(samples, 'br0'), undefined);
    assert.equal(samples.some((s) => s.name === 'linkstate_bridge_port_state' && s.labels['device'] === 'eva'), false);
    assert.ok(seen.size >= 2);

    // a port leaving its bridge (AF_BRIDGE RTM_DELLINK) loses its port state, and stays exported
    await ns.ipBatch(['link set bpb nomaster']);
    const left = await eventually('bpb without port state', async () => {
      const s = await scrape(exporter);
      return s.some((x) => x.name === 'linkstate_bridge_port_state' && x.labels['device'] === 'bpb') ? undefined : s;
    });
    assert.equal(sampleValue(left, 'linkstate_up', { device: 'bpb' }), 1);
    await ns.ipBatch(['link del bpa', 'link del br0']);
  });

  it('a storm with the ethtool client on: counters exact, ethtool requests bounded by links x a small factor', async (t) => {
    if (!requireRoot(t)) return;
    const pairs = 6;
    const setup: string[] = [];
    for (let i = 0; i < pairs; i++) setup.push(`link add st${i} type veth peer name sp${i}`, `link set st${i} up`, `link set sp${i} up`);
    await ns.ipBatch(setup);
    await expectExact(ns, () => scrape(exporter));
    const links = (await ns.kernelCounters()).size;
    const before = sampleValue(await scrape(exporter), 'linkstate_exporter_ethtool_requests_total') ?? 0;
    const storm: string[] = [];
    for (let round = 0; round < 500; round++) for (let i = 0; i < pairs; i++) storm.push(`link set sp${i} down`, `link set sp${i} up`);
    const t0 = Date.now();
    await ns.ipBatch(storm);
    const stormMs = Date.now() - t0;
    const samples = await expectExact(ns, () => scrape(exporter));
    await new Promise((r) => setTimeout(r, 2200)); // let a held-down last ask go out
    const after = sampleValue(await scrape(exporter), 'linkstate_exporter_ethtool_requests_total') ?? 0;
    const requests = after - before;
    const carrierEvents = 500 * pairs * 2 * 2; // each flap changes both ends of the pair, twice
    // Per link at most one pair per 2 s of storm, plus the first and the last.
    const factor = 2 * (Math.ceil(stormMs / 2000) + 2);
    t.diagnostic(`storm: ${carrierEvents} carrier events over ${stormMs} ms, ${links} links, ${requests} ethtool requests`);
    assert.ok(requests <= links * factor, `${requests} requests for ${links} links over a ${stormMs} ms storm (bound ${links * factor})`);
    assert.ok(requests < carrierEvents / 10, `${requests} requests for ${carrierEvents} carrier events: never one per message`);
    assert.ok(requests > 0);
    assert.equal(sampleValue(samples, 'linkstate_speed_bytes', { device: 'st0' }), 10000 * MBPS);
    const del: string[] = [];
    for (let i = 0; i < pairs; i++) del.push(`link del st${i}`);
    await ns.ipBatch(del);
  });

  it('with --no-collector.ethtool: no ethtool socket, no ethtool series; bridge port state still there', async (t) => {
    if (!requireRoot(t)) return;
    await ns.ipBatch(['link add br1 type bridge', 'link set eva master br1', 'link set br1 up']);
    const off = await startExporter(ns, ['--no-collector.ethtool']);
    try {
      await eventually('ready', async () => (await off.get('/-/ready')).status === 200);
      const samples = await eventually('eva forwarding', async () => {
        const s = await scrape(off);
        return portState(s, 'eva') === 'forwarding' ? s : undefined;
      });
      const protocols = netlinkProtocols(off.child.pid!);
      assert.equal(protocols.includes(NETLINK_GENERIC), false, `netlink sockets: ${protocols.join(',')}`);
      assert.ok(protocols.length >= 1);
      assert.ok(netlinkProtocols(exporter.child.pid!).includes(NETLINK_GENERIC), 'the default exporter has one');
      for (const name of ['linkstate_speed_bytes', 'linkstate_duplex', 'linkstate_autonegotiation', 'linkstate_exporter_ethtool_requests_total']) {
        assert.equal(samples.some((s) => s.name === name), false, `${name} absent`);
      }
    } finally {
      await off.stop();
      await ns.ipBatch(['link set eva nomaster', 'link del br1']);
    }
  });
});
