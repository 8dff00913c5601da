import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkTable } from '../../src/links/table.js';
import { LINK_FAMILIES, LinkFamiliesRenderer, escapeLabelValue, type ExpositionFormat, type LinkFamily } from '../../src/metrics/link-families.js';
import { counter, gauge, info, labelled, stateSet } from '../../src/metrics/link-family.js';
import { parseConfig } from '../../src/cli/config.js';
import { IFF_LOWER_UP, IFF_UP, IFLA_IFNAME } from '../../src/rtnetlink/constants.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import { decodeMessages } from '../../src/netlink/message.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fullLink, linkMessageBytes, rtattr } from '../helpers/netlink-bytes.js';

const link = (ifindex: number, over: Partial<LinkMessage> = {}): LinkMessage =>
  fullLink({
    ifindex,
    ifname: `eth${ifindex}`,
    flags: IFF_UP | IFF_LOWER_UP,
    carrier: 1,
    operstate: 6,
    carrierChanges: 4,
    carrierUpCount: 2,
    carrierDownCount: 2,
    mtu: 1500,
    address: '02:00:00:00:00:0' + ifindex,
    infoKind: 'veth',
    ...over,
  });

/** LINK_FAMILIES, each counting what it renders: key "family device", value times rendered. */
function countingFamilies(): { families: LinkFamily[]; renders: Map<string, number> } {
  const renders = new Map<string, number>();
  const families = LINK_FAMILIES.map(
    (f): LinkFamily => ({
      ...f,
      samples: (l, device, ctx) => {
        const key = `${f.name} ${l.name}`;
        renders.set(key, (renders.get(key) ?? 0) + 1);
        return f.samples(l, device, ctx);
      },
    }),
  );
  return { families, renders };
}

/** The link families' text as a scrape sends it: the pieces, in order. */
const render = (r: LinkFamiliesRenderer, format: ExpositionFormat, nowMs: number): string => Buffer.concat(r.pieces(format, nowMs)).toString('utf8');

const samples = (text: string, name: string): string[] =>
  text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));

describe('link families', () => {
  it('renders every family for a link with HELP and TYPE, in the Prometheus text format', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    const text = render(new LinkFamiliesRenderer(t), 'prometheus', 0);
    for (const [name, type] of [
      ['linkstate_up', 'gauge'],
      ['linkstate_carrier', 'gauge'],
      ['linkstate_oper_state', 'gauge'],
      ['linkstate_carrier_changes_total', 'counter'],
      ['linkstate_carrier_up_changes_total', 'counter'],
      ['linkstate_carrier_down_changes_total', 'counter'],
      ['linkstate_carrier_down_seconds_total', 'counter'],
      ['linkstate_mtu_bytes', 'gauge'],
      ['linkstate_info', 'gauge'],
    ]) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), name);
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    }
    assert.deepEqual(samples(text, 'linkstate_carrier_changes_total'), ['linkstate_carrier_changes_total{device="eth1"} 4']);
    assert.deepEqual(samples(text, 'linkstate_oper_state'), [
      'linkstate_oper_state{device="eth1",state="unknown"} 0',
      'linkstate_oper_state{device="eth1",state="notpresent"} 0',
      'linkstate_oper_state{device="eth1",state="down"} 0',
      'linkstate_oper_state{device="eth1",state="lowerlayerdown"} 0',
      'linkstate_oper_state{device="eth1",state="testing"} 0',
      'linkstate_oper_state{device="eth1",state="dormant"} 0',
      'linkstate_oper_state{device="eth1",state="up"} 1',
    ]);
    // absent until a carrier change has been seen
    assert.equal(text.includes('linkstate_carrier_last_change_timestamp_seconds'), false);
  });

  it('names counter and info families without their suffix in OpenMetrics, with the same samples', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    const r = new LinkFamiliesRenderer(t);
    const om = render(r, 'openmetrics', 0);
    assert.match(om, /^# TYPE linkstate_carrier_changes counter$/m);
    assert.match(om, /^# TYPE linkstate info$/m);
    assert.match(om, /^linkstate_info\{device="eth1",ifindex="1",kind="veth",address="02:00:00:00:00:01",ifalias="",master="",parent_bus="",parent_device=""\} 1$/m);
    const strip = (s: string) => s.split('\n').filter((l) => !l.startsWith('#'));
    assert.deepEqual(strip(om), strip(render(r, 'prometheus', 0)));
  });

  it('linkstate_info carries parent_bus and parent_device of a NIC (uapi-built capture), empty for a veth, and follows their change', () => {
    const t = new LinkTable();
    const [msg] = decodeMessages(readFileSync(fileURLToPath(new URL('../../../test/fixtures/netlink/uapi-built-newlink-parent-pci.bin', import.meta.url))));
    assert.ok(msg);
    t.apply(decodeLink(msg), 0);
    t.apply(link(7), 0);
    const r = new LinkFamiliesRenderer(t);
    assert.deepEqual(samples(render(r, 'prometheus', 0), 'linkstate_info'), [
      'linkstate_info{device="enp3s0",ifindex="2",kind="",address="52:54:00:12:34:56",ifalias="",master="",parent_bus="pci",parent_device="0000:03:00.0"} 1',
      'linkstate_info{device="eth7",ifindex="7",kind="veth",address="02:00:00:00:00:07",ifalias="",master="",parent_bus="",parent_device=""} 1',
    ]);
    t.apply(link(7, { parentBus: 'usb', parentDevice: '1-1:1.0 "x"' }), 1);
    assert.ok(
      samples(render(r, 'prometheus', 1), 'linkstate_info').includes(
        'linkstate_info{device="eth7",ifindex="7",kind="veth",address="02:00:00:00:00:07",ifalias="",master="",parent_bus="usb",parent_device="1-1:1.0 \\"x\\""} 1',
      ),
    );
  });

  it('stamps the last change and renders the down-time clock live, without a table change', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    const r = new LinkFamiliesRenderer(t);
    t.apply(link(1, { carrier: 0, flags: IFF_UP, operstate: 2, carrierChanges: 5, carrierDownCount: 3 }), 1_700_000_000_500);
    const a = render(r, 'prometheus', 1_700_000_010_500);
    assert.deepEqual(samples(a, 'linkstate_carrier_last_change_timestamp_seconds'), [
      'linkstate_carrier_last_change_timestamp_seconds{device="eth1"} 1700000000.5',
    ]);
    assert.deepEqual(samples(a, 'linkstate_carrier_down_seconds_total'), ['linkstate_carrier_down_seconds_total{device="eth1"} 10']);
    const b = render(r, 'prometheus', 1_700_000_020_500);
    assert.deepEqual(samples(b, 'linkstate_carrier_down_seconds_total'), ['linkstate_carrier_down_seconds_total{device="eth1"} 20']);
  });

  it('a rename moves every series to the new device label; a delete removes them', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    t.apply(link(2), 0);
    const r = new LinkFamiliesRenderer(t);
    render(r, 'prometheus', 0);
    t.apply(link(1, { ifname: 'uplink' }), 1);
    const renamed = render(r, 'prometheus', 1);
    assert.equal(renamed.includes('device="eth1"'), false);
    assert.equal(samples(renamed, 'linkstate_carrier').length, 2);
    assert.ok(renamed.includes('linkstate_carrier{device="uplink"} 1'));
    t.apply({ ...link(2), kind: 'del' }, 2);
    const deleted = render(r, 'prometheus', 2);
    assert.equal(deleted.includes('device="eth2"'), false);
    assert.equal(r.exportedCount, 1);
  });

  it('sorts series by device name', () => {
    const t = new LinkTable();
    t.apply(link(3, { ifname: 'b' }), 0);
    t.apply(link(1, { ifname: 'c' }), 0);
    t.apply(link(2, { ifname: 'a' }), 0);
    const text = render(new LinkFamiliesRenderer(t), 'prometheus', 0);
    assert.deepEqual(samples(text, 'linkstate_up').map((l) => l.slice(0, 24)), [
      'linkstate_up{device="a"}',
      'linkstate_up{device="b"}',
      'linkstate_up{device="c"}',
    ]);
  });

  it('applies the anchored include/exclude filters, re-evaluated on rename', () => {
    const t = new LinkTable();
    t.apply(link(1, { ifname: 'veth0' }), 0);
    t.apply(link(2, { ifname: 'eth0' }), 0);
    const r = new LinkFamiliesRenderer(t, { exclude: /^(?:veth.*)$/ });
    let text = render(r, 'prometheus', 0);
    assert.equal(samples(text, 'linkstate_up').length, 1);
    assert.ok(text.includes('device="eth0"'));
    t.apply(link(1, { ifname: 'lan0' }), 1);
    text = render(r, 'prometheus', 1);
    assert.equal(samples(text, 'linkstate_up').length, 2);
    const inc = new LinkFamiliesRenderer(t, { include: /^(?:eth0)$/ });
    assert.equal(samples(render(inc, 'prometheus', 1), 'linkstate_up').length, 1);
  });

  it('exports names that are not UTF-8 escaped and distinct; the device filters match the escaped name', () => {
    // IFLA_IFNAME 'a' + 0xff and 'a' + 0xfe, decoded as the monitor decodes them
    const named = (ifindex: number, byte: number): LinkMessage =>
      decodeLink(decodeMessages(linkMessageBytes(link(ifindex, { ifname: undefined }), {}, [rtattr(IFLA_IFNAME, Buffer.from([0x61, byte, 0]))]))[0]!);
    const t = new LinkTable();
    t.apply(named(21, 0xff), 0);
    t.apply(named(22, 0xfe), 0);
    const all = samples(render(new LinkFamiliesRenderer(t), 'prometheus', 0), 'linkstate_up');
    // The label value is the text a\xff, its backslash doubled by the exposition format.
    assert.deepEqual(all, ['linkstate_up{device="a\\\\xfe"} 1', 'linkstate_up{device="a\\\\xff"} 1']);
    // What an operator types: --collector.device-exclude='a\\xfe' (a regex for the text a\xfe).
    const config = parseConfig(['--collector.device-exclude=a\\\\xfe']);
    assert.equal(config.kind, 'run');
    const exclude = config.kind === 'run' ? config.config.collector.deviceExclude : undefined;
    const kept = samples(render(new LinkFamiliesRenderer(t, { exclude }), 'prometheus', 0), 'linkstate_up');
    assert.deepEqual(kept, ['linkstate_up{device="a\\\\xff"} 1']);
  });

  it('renders master as the master device name and follows its rename', () => {
    const t = new LinkTable();
    t.apply(link(10, { ifname: 'br0', infoKind: 'bridge' }), 0);
    t.apply(link(11, { master: 10 }), 0);
    const r = new LinkFamiliesRenderer(t);
    assert.ok(render(r, 'prometheus', 0).includes('linkstate_info{device="eth11",ifindex="11",kind="veth",address="02:00:00:00:00:011",ifalias="",master="br0",parent_bus="",parent_device=""} 1'));
    t.apply(link(10, { ifname: 'br-lan', infoKind: 'bridge' }), 1);
    assert.ok(render(r, 'prometheus', 1).includes('master="br-lan"'));
  });

  it('escapes label values', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const t = new LinkTable();
    t.apply(link(1, { ifalias: 'to "core"\\1' }), 0);
    assert.ok(render(new LinkFamiliesRenderer(t), 'prometheus', 0).includes('ifalias="to \\"core\\"\\\\1"'));
  });

  it('renders again only the chunk of a link that changed: other chunks are neither re-rendered nor copied', () => {
    // 1,000 links are several chunks; eth0600 sits in one of the middle ones.
    const t = new LinkTable();
    const name = (i: number) => `eth${String(i).padStart(4, '0')}`;
    for (let i = 1; i <= 1000; i++) t.apply(link(i, { ifname: name(i) }), 0);
    const { families, renders } = countingFamilies();
    const r = new LinkFamiliesRenderer(t, {}, families);

    const first = r.pieces('prometheus', 0);
    assert.equal(renders.size, 1000 * LINK_FAMILIES.length, 'every link rendered once per family');
    assert.ok([...renders.values()].every((n) => n === 1));
    const upPieces = first.filter((p) => p.toString('utf8').startsWith('linkstate_up{'));
    assert.ok(upPieces.length >= 4, `several chunks (got ${upPieces.length})`);

    renders.clear();
    const again = r.pieces('prometheus', 0);
    assert.equal(renders.size, 0, 'nothing rendered without a change');
    assert.equal(again.length, first.length);
    again.forEach((p, i) => assert.equal(p, first[i], `piece ${i} is the cached buffer`));

    const before = render(r, 'prometheus', 0);
    t.apply(link(600, { ifname: name(600), mtu: 9000 }), 1);
    renders.clear();
    const after = r.pieces('prometheus', 1);
    // Only the links of eth0600's chunk were rendered again, each once per family.
    const rerendered = new Set([...renders.keys()].map((k) => k.split(' ')[1]));
    assert.ok(rerendered.has(name(600)));
    assert.ok(rerendered.size < 1000 / 2, `only one chunk re-rendered (got ${rerendered.size} links)`);
    assert.equal(renders.size, rerendered.size * LINK_FAMILIES.length);
    const chunkOf600 = upPieces.find((p) => p.includes(`device="${name(600)}"`))!;
    assert.equal(rerendered.size, chunkOf600.toString('utf8').split('\n').length - 1, 'exactly the links of its chunk');
    // Pieces holding eth0600 are new buffers; every other piece is the very same buffer as before.
    assert.equal(after.length, first.length);
    let replaced = 0;
    after.forEach((p, i) => {
      if (first[i]!.includes(`device="${name(600)}"`)) {
        assert.notEqual(p, first[i], `piece ${i} holds eth0600`);
        replaced++;
      } else assert.equal(p, first[i], `piece ${i} untouched`);
    });
    // (families whose value this veth does not have — last change, ethtool, bridge port — have none)
    const device600 = `device="${name(600)}"`;
    const withSamples = LINK_FAMILIES.filter((f) => f.samples(t.get(600)!, device600, { nowMs: 1, linkName: () => undefined, losses: () => undefined }) !== '').length;
    assert.ok(withSamples >= 8);
    assert.equal(replaced, withSamples, 'one piece per family eth0600 has samples in');
    const text = Buffer.concat(after).toString('utf8');
    assert.equal(text, before.replace(`linkstate_mtu_bytes{device="${name(600)}"} 1500`, `linkstate_mtu_bytes{device="${name(600)}"} 9000`));
  });

  it('renders the down-time clock at each scrape only for the chunk of a link that is down', () => {
    const t = new LinkTable();
    const name = (i: number) => `eth${String(i).padStart(4, '0')}`;
    for (let i = 1; i <= 1000; i++) t.apply(link(i, { ifname: name(i) }), 0);
    const { families, renders } = countingFamilies();
    const r = new LinkFamiliesRenderer(t, {}, families);
    t.apply(link(100, { ifname: name(100), carrier: 0, flags: IFF_UP, operstate: 2, carrierChanges: 5, carrierDownCount: 3 }), 10_000);
    const first = r.pieces('prometheus', 20_000);
    renders.clear();
    const second = r.pieces('prometheus', 30_000);
    const families100 = new Set([...renders.keys()].map((k) => k.split(' ')[0]));
    assert.deepEqual([...families100], ['linkstate_carrier_down_seconds_total'], 'only the clock family');
    assert.ok(renders.has(`linkstate_carrier_down_seconds_total ${name(100)}`));
    assert.ok(renders.size < 1000 / 2, `one chunk (got ${renders.size} links)`);
    const changed = second.filter((p, i) => p !== first[i]);
    assert.equal(changed.length, 1);
    assert.match(changed[0]!.toString('utf8'), new RegExp(`^linkstate_carrier_down_seconds_total\\{device="${name(100)}"\\} 20$`, 'm'));
  });

  it('takes families of every shape: values absent when unknown, state sets, info and reason labels, clocks', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    t.apply(link(2, { mtu: 9000, ifalias: 'up"link' }), 0);
    t.apply(link(3, { carrier: 0, flags: IFF_UP, operstate: 2 }), 0);
    // Families as later ones will look (speed, duplex, bridge port state), fed from what a link
    // has today so that some links know a value and some don't.
    const families: LinkFamily[] = [
      gauge('test_speed_bytes', 'Speed, absent when unknown.', (l) => (l.mtu === 9000 ? 1_250_000_000 : undefined)),
      stateSet('test_duplex', 'Duplex, absent when unknown.', 'duplex', ['full', 'half', 'unknown'], (l) => (l.ifindex === 1 ? 0 : l.ifindex === 3 ? 2 : undefined)),
      stateSet('test_never', 'No link has a state: the family is left out.', 'state', ['a'], () => undefined),
      info('test_port_info', 'Labels, absent for link 3.', ['alias'], (l) => (l.ifindex === 3 ? undefined : [l.ifalias ?? ''])),
      labelled('test_down_reason', 'While carrier is down: why.', ['reason', 'detail'], (l) => (l.carrier ? undefined : ['no_cable', ''])),
      counter('test_clock_seconds_total', 'A clock while carrier is down.', (l, ctx) => (l.carrier ? 0 : ctx.nowMs / 1000), { liveWhile: (l) => !l.carrier }),
    ];
    const r = new LinkFamiliesRenderer(t, {}, families);
    const text = render(r, 'prometheus', 5000);
    assert.equal(
      text,
      [
        '# HELP test_speed_bytes Speed, absent when unknown.',
        '# TYPE test_speed_bytes gauge',
        'test_speed_bytes{device="eth2"} 1250000000',
        '# HELP test_duplex Duplex, absent when unknown.',
        '# TYPE test_duplex gauge',
        'test_duplex{device="eth1",duplex="full"} 1',
        'test_duplex{device="eth1",duplex="half"} 0',
        'test_duplex{device="eth1",duplex="unknown"} 0',
        'test_duplex{device="eth3",duplex="full"} 0',
        'test_duplex{device="eth3",duplex="half"} 0',
        'test_duplex{device="eth3",duplex="unknown"} 1',
        '# HELP test_port_info Labels, absent for link 3.',
        '# TYPE test_port_info gauge',
        'test_port_info{device="eth1",alias=""} 1',
        'test_port_info{device="eth2",alias="up\\"link"} 1',
        '# HELP test_down_reason While carrier is down: why.',
        '# TYPE test_down_reason gauge',
        'test_down_reason{device="eth3",reason="no_cable",detail=""} 1',
        '# HELP test_clock_seconds_total A clock while carrier is down.',
        '# TYPE test_clock_seconds_total counter',
        'test_clock_seconds_total{device="eth1"} 0',
        'test_clock_seconds_total{device="eth2"} 0',
        'test_clock_seconds_total{device="eth3"} 5',
        '',
      ].join('\n'),
    );
    const om = render(r, 'openmetrics', 7000);
    assert.match(om, /^# TYPE test_port info$/m);
    assert.match(om, /^# TYPE test_clock_seconds counter$/m);
    assert.match(om, /^test_clock_seconds_total\{device="eth3"\} 7$/m);
    assert.throws(() => counter('test_bad', 'x', () => 1), /must end in _total/);
    assert.throws(() => info('test_bad', 'x', [], () => []), /must end in _info/);
  });
});
