import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  IFF_LOWER_UP,
  IFF_RUNNING,
  IFF_UP,
  IF_OPER_DOWN,
  IF_OPER_LOWERLAYERDOWN,
  IF_OPER_UP,
} from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { downSeconds } from '../../src/links/link-record.js';
import { LinkTable } from '../../src/links/table.js';

/** A veth-like RTM_NEWLINK with kernel counters; override what the case needs. */
function newlink(over: Partial<LinkMessage> & { ifindex: number }): LinkMessage {
  // family stays AF_UNSPEC (0): the link itself
  const up = over.carrier === undefined ? true : over.carrier === 1;
  return {
    kind: 'new',
    family: 0,
    flags: IFF_UP | (up ? IFF_LOWER_UP | IFF_RUNNING : 0),
    change: 0,
    linkType: 1,
    ifname: `veth${over.ifindex}`,
    operstate: up ? IF_OPER_UP : IF_OPER_LOWERLAYERDOWN,
    carrier: up ? 1 : 0,
    carrierChanges: 2,
    carrierUpCount: 1,
    carrierDownCount: 1,
    mtu: 1500,
    address: '02:00:00:00:00:01',
    infoKind: 'veth',
    ...over,
  };
}

const dellink = (ifindex: number): LinkMessage => ({ kind: 'del', family: 0, ifindex, flags: 0, change: 0, linkType: 1, ifname: `veth${ifindex}` });

describe('LinkTable', () => {
  it('adds a link from its first message without stamping a change', () => {
    const t = new LinkTable();
    const r = t.apply(newlink({ ifindex: 5 }), 1000);
    assert.equal(r.kind, 'added');
    const link = t.get(5);
    assert.ok(link);
    assert.equal(link.name, 'veth5');
    assert.equal(link.carrier, true);
    assert.equal(link.adminUp, true);
    assert.equal(link.operstate, IF_OPER_UP);
    assert.equal(link.carrierChanges, 2);
    assert.equal(link.lastChangeMs, undefined);
    assert.equal(link.kind, 'veth');
  });

  it('takes counters from the kernel, including flaps coalesced into one message', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 5 }), 1000);
    // 459 down/up pairs inside the linkwatch window arrive as one message with the same carrier.
    const r = t.apply(newlink({ ifindex: 5, carrierChanges: 2 + 918, carrierUpCount: 1 + 459, carrierDownCount: 1 + 459 }), 2000);
    assert.equal(r.kind, 'updated');
    assert.ok(r.kind === 'updated' && r.carrier);
    assert.deepEqual(r.carrier, { from: 'up', to: 'up', changes: 918 });
    const link = t.get(5)!;
    assert.equal(link.carrierChanges, 920);
    assert.equal(link.carrierUpChanges, 460);
    assert.equal(link.carrierDownChanges, 460);
    assert.equal(link.lastChangeMs, 2000);
  });

  it('reports a carrier transition and accumulates time without carrier while admin up', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 7 }), 0);
    const down = t.apply(newlink({ ifindex: 7, carrier: 0, carrierChanges: 3, carrierDownCount: 2 }), 10_000);
    assert.ok(down.kind === 'updated');
    assert.deepEqual(down.carrier, { from: 'up', to: 'down', changes: 1 });
    const link = t.get(7)!;
    assert.equal(link.carrier, false);
    assert.equal(link.operstate, IF_OPER_LOWERLAYERDOWN);
    assert.equal(downSeconds(link, 12_500), 2.5);
    t.apply(newlink({ ifindex: 7, carrier: 1, carrierChanges: 4, carrierUpCount: 2, carrierDownCount: 2 }), 14_000);
    assert.equal(downSeconds(link, 20_000), 4);
    assert.equal(link.lastChangeMs, 14_000);
  });

  it('does not count down time while the link is administratively down', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 3 }), 0);
    // admin down: the kernel drops carrier too
    t.apply(newlink({ ifindex: 3, flags: 0, carrier: 0, operstate: IF_OPER_DOWN, carrierChanges: 3, carrierDownCount: 2 }), 1000);
    const link = t.get(3)!;
    assert.equal(link.adminUp, false);
    assert.equal(downSeconds(link, 60_000), 0);
  });

  it('a link found down at start counts from the moment it was first seen', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 4, carrier: 0 }), 5000);
    assert.equal(downSeconds(t.get(4)!, 8000), 3);
  });

  it('counts observed transitions when the kernel sends no counters', () => {
    const t = new LinkTable();
    const base = { carrierChanges: undefined, carrierUpCount: undefined, carrierDownCount: undefined };
    t.apply(newlink({ ifindex: 9, ...base }), 0);
    t.apply(newlink({ ifindex: 9, ...base, carrier: 0 }), 1);
    t.apply(newlink({ ifindex: 9, ...base, carrier: 1 }), 2);
    t.apply(newlink({ ifindex: 9, ...base, carrier: 1 }), 3); // no change
    t.apply(newlink({ ifindex: 9, ...base, carrier: 0 }), 4);
    const link = t.get(9)!;
    assert.equal(link.kernelCounters, false);
    assert.equal(link.carrierChanges, 3);
    assert.equal(link.carrierDownChanges, 2);
    assert.equal(link.carrierUpChanges, 1);
    assert.equal(link.lastChangeMs, 4);
  });

  it('derives up/down counts from observed transitions on kernels with only IFLA_CARRIER_CHANGES (3.15–4.15)', () => {
    const t = new LinkTable();
    const base = { carrierUpCount: undefined, carrierDownCount: undefined };
    t.apply(newlink({ ifindex: 9, ...base, carrierChanges: 10 }), 0);
    t.apply(newlink({ ifindex: 9, ...base, carrier: 0, carrierChanges: 11 }), 1);
    const link = t.get(9)!;
    assert.equal(link.carrierChanges, 11);
    assert.equal(link.carrierDownChanges, 1);
    assert.equal(link.carrierUpChanges, 0);
  });

  it('falls back to IFF_LOWER_UP when IFLA_CARRIER is absent', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 2, carrier: undefined, flags: IFF_UP }), 0);
    assert.equal(t.get(2)!.carrier, false);
    t.apply(newlink({ ifindex: 2, carrier: undefined, flags: IFF_UP | IFF_LOWER_UP }), 0);
    assert.equal(t.get(2)!.carrier, true);
  });

  it('a rename keeps the link (same ifindex, counters, down time) under its new name', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 6, carrier: 0 }), 0);
    const layout = t.layoutVersion;
    const r = t.apply(newlink({ ifindex: 6, carrier: 0, ifname: 'uplink0' }), 1000);
    assert.ok(r.kind === 'updated');
    assert.equal(r.renamedFrom, 'veth6');
    assert.equal(r.carrier, undefined);
    const link = t.get(6)!;
    assert.equal(link.name, 'uplink0');
    assert.equal(downSeconds(link, 2000), 2);
    assert.notEqual(t.layoutVersion, layout);
  });

  it('RTM_DELLINK removes the link; a deletion of an unknown link is ignored', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 6 }), 0);
    assert.equal(t.apply(dellink(6), 1).kind, 'removed');
    assert.equal(t.get(6), undefined);
    assert.equal(t.size, 0);
    assert.equal(t.apply(dellink(6), 2).kind, 'ignored');
  });

  it('takes only the port state from AF_BRIDGE messages: a port leaving its bridge is not a deleted link', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 6, master: 9 }), 0);
    assert.equal(t.apply({ ...dellink(6), family: 7 }, 1).kind, 'unchanged');
    assert.equal(t.apply(newlink({ ifindex: 6, family: 7, carrier: 0 }), 1).kind, 'unchanged');
    assert.ok(t.get(6));
    assert.equal(t.get(6)!.carrier, true);
  });

  it('an unchanged message bumps no version (nothing to re-render)', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 1 }), 0);
    const v = t.version;
    assert.equal(t.apply(newlink({ ifindex: 1 }), 5).kind, 'unchanged');
    assert.equal(t.version, v);
  });

  it('clears ifalias and master when the kernel stops sending them', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 1, ifalias: 'uplink', master: 4 }), 0);
    assert.equal(t.get(1)!.ifalias, 'uplink');
    t.apply(newlink({ ifindex: 1 }), 0);
    assert.equal(t.get(1)!.ifalias, undefined);
    assert.equal(t.get(1)!.master, undefined);
  });

  it('takes the parent bus and device from the message; a change of either bumps the link version, absence clears them', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 2, infoKind: undefined, parentBus: 'pci', parentDevice: '0000:03:00.0' }), 0);
    const link = t.get(2)!;
    assert.deepEqual([link.parentBus, link.parentDevice], ['pci', '0000:03:00.0']);
    let v = link.version;
    let tv = t.version;
    assert.equal(t.apply(newlink({ ifindex: 2, infoKind: undefined, parentBus: 'pci', parentDevice: '0000:03:00.0' }), 1).kind, 'unchanged');
    assert.equal(link.version, v);
    for (const [bus, device] of [
      ['pci', '0000:04:00.0'],
      ['usb', '0000:04:00.0'],
      [undefined, undefined],
    ] as const) {
      const r = t.apply(newlink({ ifindex: 2, infoKind: undefined, parentBus: bus, parentDevice: device }), 2);
      assert.equal(r.kind, 'updated', `${bus} ${device}`);
      assert.ok(link.version > v && t.version > tv);
      assert.deepEqual([link.parentBus, link.parentDevice], [bus, device]);
      v = link.version;
      tv = t.version;
    }
  });

  it('a reused ifindex whose counters went backwards starts a new link', () => {
    const t = new LinkTable();
    t.apply(newlink({ ifindex: 8, carrierChanges: 50, carrierUpCount: 25, carrierDownCount: 25 }), 0);
    t.apply(newlink({ ifindex: 8, carrier: 0, carrierChanges: 51, carrierDownCount: 26 }), 10);
    const r = t.apply(newlink({ ifindex: 8, ifname: 'other', carrierChanges: 2 }), 20);
    assert.equal(r.kind, 'added');
    assert.equal(t.get(8)!.lastChangeMs, undefined);
    assert.equal(t.get(8)!.carrierChanges, 2);
  });

  describe('retainOnly (the prune of a complete dump)', () => {
    it('removes the links not kept and returns them', () => {
      const t = new LinkTable();
      t.apply(newlink({ ifindex: 1 }), 0);
      t.apply(newlink({ ifindex: 2 }), 0);
      t.apply(newlink({ ifindex: 3 }), 0);
      const layout = t.layoutVersion;
      const removed = t.retainOnly(new Set([1, 3]));
      assert.deepEqual(removed.map((l) => l.ifindex), [2]);
      assert.deepEqual([...t.links()].map((l) => l.ifindex).sort(), [1, 3]);
      assert.notEqual(t.layoutVersion, layout);
    });

    it('keeping every link changes nothing', () => {
      const t = new LinkTable();
      t.apply(newlink({ ifindex: 1 }), 0);
      const version = t.version;
      assert.deepEqual(t.retainOnly(new Set([1, 99])), []);
      assert.equal(t.size, 1);
      assert.equal(t.version, version);
    });

    it('a resync after lost notifications reconciles counters exactly and stamps the change', () => {
      const t = new LinkTable();
      t.apply(newlink({ ifindex: 1 }), 0);
      // overrun: messages lost; the dump shows the kernel's counts
      t.apply(newlink({ ifindex: 1, carrier: 0, carrierChanges: 103, carrierUpCount: 51, carrierDownCount: 52 }), 500);
      t.retainOnly(new Set([1]));
      const link = t.get(1)!;
      assert.equal(link.carrierChanges, 103);
      assert.equal(link.carrierDownChanges, 52);
      assert.equal(link.carrier, false);
      assert.equal(link.lastChangeMs, 500);
    });
  });
});
