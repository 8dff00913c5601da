import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkTable } from '../../src/links/table.js';
import { LinkFamiliesRenderer, escapeLabelValue } from '../../src/metrics/link-families.js';
import { IFF_LOWER_UP, IFF_UP } from '../../src/netlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { fullLink } from '../helpers/netlink-bytes.js';

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

const samples = (text: string, name: string): string[] =>
  text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));

describe('link families', () => {
  it('renders every family for a link with HELP and TYPE, in the Prometheus text format', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    const text = new LinkFamiliesRenderer(t).render('prometheus', 0);
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
    const om = r.render('openmetrics', 0);
    assert.match(om, /^# TYPE linkstate_carrier_changes counter$/m);
    assert.match(om, /^# TYPE linkstate info$/m);
    assert.match(om, /^linkstate_info\{device="eth1",ifindex="1",kind="veth",address="02:00:00:00:00:01",ifalias="",master=""\} 1$/m);
    const strip = (s: string) => s.split('\n').filter((l) => !l.startsWith('#'));
    assert.deepEqual(strip(om), strip(r.render('prometheus', 0)));
  });

  it('stamps the last change and renders the down-time clock live, without a table change', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    const r = new LinkFamiliesRenderer(t);
    t.apply(link(1, { carrier: 0, flags: IFF_UP, operstate: 2, carrierChanges: 5, carrierDownCount: 3 }), 1_700_000_000_500);
    const a = r.render('prometheus', 1_700_000_010_500);
    assert.deepEqual(samples(a, 'linkstate_carrier_last_change_timestamp_seconds'), [
      'linkstate_carrier_last_change_timestamp_seconds{device="eth1"} 1700000000.5',
    ]);
    assert.deepEqual(samples(a, 'linkstate_carrier_down_seconds_total'), ['linkstate_carrier_down_seconds_total{device="eth1"} 10']);
    const b = r.render('prometheus', 1_700_000_020_500);
    assert.deepEqual(samples(b, 'linkstate_carrier_down_seconds_total'), ['linkstate_carrier_down_seconds_total{device="eth1"} 20']);
  });

  it('a rename moves every series to the new device label; a delete removes them', () => {
    const t = new LinkTable();
    t.apply(link(1), 0);
    t.apply(link(2), 0);
    const r = new LinkFamiliesRenderer(t);
    r.render('prometheus', 0);
    t.apply(link(1, { ifname: 'uplink' }), 1);
    const renamed = r.render('prometheus', 1);
    assert.equal(renamed.includes('device="eth1"'), false);
    assert.equal(samples(renamed, 'linkstate_carrier').length, 2);
    assert.ok(renamed.includes('linkstate_carrier{device="uplink"} 1'));
    t.apply({ ...link(2), kind: 'del' }, 2);
    const deleted = r.render('prometheus', 2);
    assert.equal(deleted.includes('device="eth2"'), false);
    assert.equal(r.exportedCount, 1);
  });

  it('sorts series by device name', () => {
    const t = new LinkTable();
    t.apply(link(3, { ifname: 'b' }), 0);
    t.apply(link(1, { ifname: 'c' }), 0);
    t.apply(link(2, { ifname: 'a' }), 0);
    const text = new LinkFamiliesRenderer(t).render('prometheus', 0);
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
    let text = r.render('prometheus', 0);
    assert.equal(samples(text, 'linkstate_up').length, 1);
    assert.ok(text.includes('device="eth0"'));
    t.apply(link(1, { ifname: 'lan0' }), 1);
    text = r.render('prometheus', 1);
    assert.equal(samples(text, 'linkstate_up').length, 2);
    const inc = new LinkFamiliesRenderer(t, { include: /^(?:eth0)$/ });
    assert.equal(samples(inc.render('prometheus', 1), 'linkstate_up').length, 1);
  });

  it('renders master as the master device name and follows its rename', () => {
    const t = new LinkTable();
    t.apply(link(10, { ifname: 'br0', infoKind: 'bridge' }), 0);
    t.apply(link(11, { master: 10 }), 0);
    const r = new LinkFamiliesRenderer(t);
    assert.ok(r.render('prometheus', 0).includes('linkstate_info{device="eth11",ifindex="11",kind="veth",address="02:00:00:00:00:011",ifalias="",master="br0"} 1'));
    t.apply(link(10, { ifname: 'br-lan', infoKind: 'bridge' }), 1);
    assert.ok(r.render('prometheus', 1).includes('master="br-lan"'));
  });

  it('escapes label values', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const t = new LinkTable();
    t.apply(link(1, { ifalias: 'to "core"\\1' }), 0);
    assert.ok(new LinkFamiliesRenderer(t).render('prometheus', 0).includes('ifalias="to \\"core\\"\\\\1"'));
  });

  it('re-renders only what changed (cached text is reused as is)', () => {
    const t = new LinkTable();
    for (let i = 1; i <= 50; i++) t.apply(link(i), 0);
    const r = new LinkFamiliesRenderer(t);
    const a = r.render('prometheus', 0);
    const b = r.render('prometheus', 0);
    assert.equal(a, b);
    t.apply(link(7, { mtu: 9000 }), 1);
    const c = r.render('prometheus', 1);
    assert.ok(c.includes('linkstate_mtu_bytes{device="eth7"} 9000'));
    assert.equal(c.replace('linkstate_mtu_bytes{device="eth7"} 9000', 'linkstate_mtu_bytes{device="eth7"} 1500'), a);
  });
});
