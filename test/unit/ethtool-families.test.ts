// The families of what the link is doing: speed, duplex, autonegotiation, advertised maximum,
// down reason, SQI and bridge port state render from the table, and are absent — never 0 —
// where the kernel or driver did not say.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkTable } from '../../src/links/table.js';
import { LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { vethLink } from '../helpers/netlink-bytes.js';

const render = (r: LinkFamiliesRenderer): string => Buffer.concat(r.pieces('prometheus', 0)).toString('utf8');
const lines = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`));

const NONE = { speedMbps: undefined, duplex: undefined, autoneg: undefined, advertisedSpeedMaxMbps: undefined };
const NO_STATE = { sqi: undefined, sqiMax: undefined, extState: undefined, extSubstate: undefined, linkDownEvents: undefined };

describe('ethtool and bridge port families', () => {
  it('are absent, headers and all, for links nobody said anything about', () => {
    const t = new LinkTable();
    t.apply(vethLink(2), 0);
    const text = render(new LinkFamiliesRenderer(t));
    for (const name of ['speed_bytes', 'duplex', 'autonegotiation', 'advertised_speed_max_bytes', 'carrier_down_reason', 'sqi', 'sqi_max', 'phy_link_down_events_total', 'bridge_port_state']) {
      assert.doesNotMatch(text, new RegExp(`linkstate_${name}\\b`), name);
    }
  });

  it('render speed in bytes per second, duplex as a state set, autoneg, advertised maximum, SQI', () => {
    const t = new LinkTable();
    t.apply(vethLink(2), 0);
    t.apply(vethLink(3), 0);
    const r = new LinkFamiliesRenderer(t);
    render(r);
    t.applyLinkModes(2, { speedMbps: 1000, duplex: 'half', autoneg: true, advertisedSpeedMaxMbps: 10000 });
    t.applyLinkState(2, { ...NO_STATE, sqi: 5, sqiMax: 7 });
    // speed 0 (some drivers while down) and an unknown duplex
    t.applyLinkModes(3, { ...NONE, speedMbps: 0, duplex: 'unknown' });
    const text = render(r); // the cache re-renders: applyLinkModes bumped the version
    assert.deepEqual(lines(text, 'linkstate_speed_bytes'), ['linkstate_speed_bytes{device="veth2"} 125000000']);
    assert.deepEqual(lines(text, 'linkstate_duplex'), [
      'linkstate_duplex{device="veth2",duplex="full"} 0',
      'linkstate_duplex{device="veth2",duplex="half"} 1',
      'linkstate_duplex{device="veth2",duplex="unknown"} 0',
      'linkstate_duplex{device="veth3",duplex="full"} 0',
      'linkstate_duplex{device="veth3",duplex="half"} 0',
      'linkstate_duplex{device="veth3",duplex="unknown"} 1',
    ]);
    assert.deepEqual(lines(text, 'linkstate_autonegotiation'), ['linkstate_autonegotiation{device="veth2"} 1']);
    assert.deepEqual(lines(text, 'linkstate_advertised_speed_max_bytes'), ['linkstate_advertised_speed_max_bytes{device="veth2"} 1250000000']);
    assert.deepEqual(lines(text, 'linkstate_sqi'), ['linkstate_sqi{device="veth2"} 5']);
    assert.deepEqual(lines(text, 'linkstate_sqi_max'), ['linkstate_sqi_max{device="veth2"} 7']);
    // EOPNOTSUPP later: gone again
    t.applyLinkModes(2, undefined);
    assert.deepEqual(lines(render(r), 'linkstate_speed_bytes'), []);
  });

  it('the PHY link-down count is a counter only for links whose driver reports it: absent (no series, no header) otherwise', () => {
    const t = new LinkTable();
    t.apply(vethLink(2), 0);
    t.apply(vethLink(3), 0);
    const r = new LinkFamiliesRenderer(t);
    t.applyLinkState(3, { ...NO_STATE });
    assert.doesNotMatch(render(r), /linkstate_phy_link_down_events/);
    t.applyLinkState(2, { ...NO_STATE, linkDownEvents: 7 });
    const text = render(r);
    assert.match(text, /^# TYPE linkstate_phy_link_down_events_total counter$/m);
    assert.deepEqual(lines(text, 'linkstate_phy_link_down_events_total'), ['linkstate_phy_link_down_events_total{device="veth2"} 7']);
    assert.match(Buffer.concat(r.pieces('openmetrics', 0)).toString('utf8'), /^# TYPE linkstate_phy_link_down_events counter$/m);
    // a later reply without it (the driver stopped saying, or EOPNOTSUPP): gone
    t.applyLinkState(2, undefined);
    assert.deepEqual(lines(render(r), 'linkstate_phy_link_down_events_total'), []);
  });

  it('the down reason is 1 while the link is without carrier, and absent once carrier is back', () => {
    const t = new LinkTable();
    t.apply(vethLink(2, { carrier: 0, flags: 0x1, carrierChanges: 3, carrierDownCount: 2 }), 0);
    const r = new LinkFamiliesRenderer(t);
    t.applyLinkState(2, { ...NO_STATE, extState: 'autoneg', extSubstate: 'autoneg_no_partner_detected' });
    assert.deepEqual(lines(render(r), 'linkstate_carrier_down_reason'), [
      'linkstate_carrier_down_reason{device="veth2",reason="autoneg",detail="autoneg_no_partner_detected"} 1',
    ]);
    t.applyLinkState(2, { ...NO_STATE, extState: 'no_cable' });
    assert.deepEqual(lines(render(r), 'linkstate_carrier_down_reason'), ['linkstate_carrier_down_reason{device="veth2",reason="no_cable",detail=""} 1']);
    // carrier back, the reason not yet cleared by a fresh LINKSTATE: still absent
    t.apply(vethLink(2, { carrierChanges: 4, carrierDownCount: 2, carrierUpCount: 2 }), 1);
    assert.deepEqual(lines(render(r), 'linkstate_carrier_down_reason'), []);
  });

  it('bridge port state: a state set over the five STP states; a value outside them is absent', () => {
    const t = new LinkTable();
    t.apply(vethLink(2, { master: 9, bridgePortState: 4 }), 0);
    t.apply(vethLink(3, { master: 9, bridgePortState: 9 }), 0);
    const text = render(new LinkFamiliesRenderer(t));
    assert.deepEqual(lines(text, 'linkstate_bridge_port_state'), [
      'linkstate_bridge_port_state{device="veth2",state="disabled"} 0',
      'linkstate_bridge_port_state{device="veth2",state="listening"} 0',
      'linkstate_bridge_port_state{device="veth2",state="learning"} 0',
      'linkstate_bridge_port_state{device="veth2",state="forwarding"} 0',
      'linkstate_bridge_port_state{device="veth2",state="blocking"} 1',
    ]);
  });

  it('values leave with the link', () => {
    const t = new LinkTable();
    t.apply(vethLink(2), 0);
    t.applyLinkModes(2, { speedMbps: 10000, duplex: 'full', autoneg: false, advertisedSpeedMaxMbps: undefined });
    t.apply({ ...vethLink(2), kind: 'del' }, 1);
    t.apply(vethLink(2), 2);
    assert.equal(t.get(2)?.speedMbps, undefined);
    assert.deepEqual(lines(render(new LinkFamiliesRenderer(t)), 'linkstate_speed_bytes'), []);
  });
});
