import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AF_BRIDGE,
  IFF_LOWER_UP,
  IFF_UP,
  IF_OPER_DOWN,
  IF_OPER_LOWERLAYERDOWN,
  IF_OPER_UP,
} from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import type { LinkChange } from '../../src/links/link-change.js';
import type { LinkState } from '../../src/links/link-record.js';
import { LinkTable } from '../../src/links/table.js';
import { NamespaceSet } from '../../src/netns/namespaces.js';
import { linkChangeLog } from '../../src/links/change-log.js';
import { createLogger } from '../../src/runtime/logger.js';
import { vethLink } from '../helpers/netlink-bytes.js';

const del = (ifindex: number, ifname = `veth${ifindex}`): LinkMessage => ({ ...vethLink(ifindex, { ifname }), kind: 'del' });
const down = { carrier: 0, flags: IFF_UP, operstate: IF_OPER_LOWERLAYERDOWN, carrierChanges: 3, carrierUpCount: 1, carrierDownCount: 2 };

/** A table and every change it told, in order. */
function recorded(netns?: string, nsid?: number): { table: LinkTable; changes: LinkChange[] } {
  const table = new LinkTable(netns, nsid);
  const changes: LinkChange[] = [];
  table.subscribe((c) => changes.push(c));
  return { table, changes };
}

const summary = (changes: readonly LinkChange[]): string[] => changes.map((c) => `${c.kind} ${c.link.ifindex}`);

describe('LinkTable change events', () => {
  it('each change is told once, in order, with the kind it is', () => {
    const { table, changes } = recorded('pod', 4);
    table.apply(vethLink(1), 0);
    table.apply(vethLink(2), 0);
    table.apply(vethLink(1, down), 1);
    table.apply(del(1), 2);
    table.retainOnly(new Set()); // veth2's deletion was lost
    assert.deepEqual(summary(changes), ['added 1', 'added 2', 'updated 1', 'removed 1', 'pruned 2']);
    assert.equal(table.nsid, 4);
  });

  it('a new device on the ifindex of one whose deletion was lost: the old one is told gone first', () => {
    const { table, changes } = recorded();
    table.apply(vethLink(7, { carrierChanges: 40, carrierUpCount: 20, carrierDownCount: 20 }), 0);
    table.apply(vethLink(7, { ifname: 'other7', carrierChanges: 1, carrierUpCount: 1, carrierDownCount: 0 }), 1); // counters went back
    assert.deepEqual(summary(changes), ['added 7', 'pruned 7', 'added 7']);
    assert.equal(changes[1]!.link.name, 'veth7');
    assert.equal(changes[2]!.link.name, 'other7');
  });

  it('an update carries the state before it, and the link as it is after', () => {
    const { table, changes } = recorded();
    table.apply(vethLink(3, { iflink: 9, master: 5, carrierChanges: 40, carrierUpCount: 20, carrierDownCount: 20 }), 0);
    table.apply(
      vethLink(3, { carrier: 0, flags: 0, operstate: IF_OPER_DOWN, iflink: 9, linkNetnsid: 2, protoDown: 1, protoDownReason: 0x4, carrierChanges: 43, carrierUpCount: 21, carrierDownCount: 22 }),
      1_000,
    );
    assert.equal(changes.length, 2);
    const change = changes[1]!;
    assert.ok(change.kind === 'updated');
    assert.deepEqual(change.before, {
      name: 'veth3',
      adminUp: true,
      carrier: true,
      operstate: IF_OPER_UP,
      master: 5,
      iflink: 9,
      linkNetnsid: undefined,
      protoDown: false,
      protoDownReason: undefined,
      bridgePortState: undefined,
      kernelCounters: true,
      carrierChanges: 40,
      carrierUpChanges: 20,
      carrierDownChanges: 20,
    });
    const after = change.link;
    assert.equal(after.adminUp, false);
    assert.equal(after.carrier, false);
    assert.equal(after.operstate, IF_OPER_DOWN);
    assert.equal(after.master, undefined, 'IFLA_MASTER absent: no longer enslaved');
    assert.equal(after.linkNetnsid, 2);
    assert.equal(after.protoDown, true);
    assert.equal(after.protoDownReason, 0x4);
    assert.equal(after.carrierDownChanges, 22);
    assert.deepEqual(change.carrier, { from: 'up', to: 'down', changes: 3 });
  });

  it('a message that changes nothing tells nothing; neither does one the table ignores', () => {
    const { table, changes } = recorded();
    table.apply(vethLink(1, { iflink: 7, protoDown: 0 }), 0);
    const version = table.version;
    table.apply(vethLink(1, { iflink: 7, protoDown: 0 }), 5);
    table.apply(del(8), 5); // unknown link
    table.apply({ ...vethLink(1), family: 10 }, 5); // not a link message
    table.apply({ ...vethLink(8), family: AF_BRIDGE, bridgePortState: 3 }, 5); // port of an unknown link
    table.retainOnly(new Set([1]));
    table.applyLinkModes(1, undefined); // nothing known, nothing said
    table.applyLinkState(9, undefined); // unknown link
    assert.deepEqual(summary(changes), ['added 1']);
    assert.equal(table.version, version);
  });

  it('a rename onto a name a stale link still holds: the update, then the eviction', () => {
    const { table, changes } = recorded();
    table.apply(vethLink(1, { ifname: 'a' }), 0);
    table.apply(vethLink(2, { ifname: 'b' }), 0);
    table.apply(vethLink(2, { ifname: 'a' }), 1); // veth1's rename or deletion was lost
    assert.deepEqual(summary(changes), ['added 1', 'added 2', 'updated 2', 'evicted 1']);
    const update = changes[2]!;
    const evicted = changes[3]!;
    assert.ok(update.kind === 'updated' && evicted.kind === 'evicted');
    assert.equal(update.renamedFrom, 'b');
    assert.equal(update.before.name, 'b');
    assert.equal(evicted.by, update.link, 'evicted by the link that took the name');
    table.apply(vethLink(3, { ifname: 'a' }), 2);
    assert.deepEqual(summary(changes).slice(4), ['added 3', 'evicted 2'], 'a new link taking the name evicts too');
  });

  it('changes only IFLA_LINK or protodown are updates', () => {
    const { table, changes } = recorded();
    table.apply(vethLink(4, { iflink: 2 }), 0);
    table.apply(vethLink(4, { iflink: 3 }), 1);
    table.apply(vethLink(4, { iflink: 3, protoDown: 1 }), 2);
    assert.deepEqual(summary(changes), ['added 4', 'updated 4', 'updated 4']);
    const first = changes[1]!;
    const second = changes[2]!;
    assert.ok(first.kind === 'updated' && second.kind === 'updated');
    assert.equal(first.before.iflink, 2);
    assert.equal(second.before.protoDown, false);
    assert.equal(first.carrier, undefined);
  });

  it('bridge port and ethtool updates are told with the state before them', () => {
    const { table, changes } = recorded();
    table.apply(vethLink(5, { master: 9, bridgePortState: 3 }), 0);
    table.apply({ ...vethLink(5), family: AF_BRIDGE, bridgePortState: 1 }, 1);
    table.applyLinkModes(5, { speedMbps: 1000, duplex: 'full', autoneg: true, advertisedSpeedMaxMbps: 1000 });
    table.applyLinkModes(5, { speedMbps: 1000, duplex: 'full', autoneg: true, advertisedSpeedMaxMbps: 1000 });
    table.applyLinkState(5, { sqi: 3, sqiMax: 7, extState: undefined, extSubstate: undefined, linkDownEvents: undefined });
    assert.deepEqual(summary(changes), ['added 5', 'updated 5', 'updated 5', 'updated 5']);
    const port = changes[1]!;
    assert.ok(port.kind === 'updated');
    assert.equal(port.before.bridgePortState, 3);
    assert.equal(port.link.bridgePortState, 1);
  });

  it('every listener hears every change in the order subscribed; an unsubscribed one no more', () => {
    const table = new LinkTable();
    const heard: string[] = [];
    let stopSecond: () => void = () => undefined;
    table.subscribe((c, from) => {
      assert.equal(from, table);
      heard.push(`first ${c.kind}`);
      if (c.kind === 'updated') stopSecond(); // unsubscribing mid-delivery
    });
    stopSecond = table.subscribe((c) => heard.push(`second ${c.kind}`));
    table.apply(vethLink(1), 0);
    table.apply(vethLink(1, down), 1);
    table.apply(del(1), 2);
    assert.deepEqual(heard, ['first added', 'second added', 'first updated', 'second updated', 'first removed']);
  });

  it('NamespaceSet.subscribeLinks hears our table and every namespace table, also those added later', () => {
    const set = new NamespaceSet();
    set.upsert(1, 'pod-a', undefined);
    const heard: string[] = [];
    set.subscribeLinks((c, table) => heard.push(`${c.link.netns ?? 'own'} ${table.nsid ?? '-'} ${c.kind} ${c.link.ifindex}`));
    set.upsert(2, 'pod-b', undefined);
    set.own.apply(vethLink(1), 0);
    set.get(1)!.table.apply(vethLink(2), 0);
    set.get(2)!.table.apply(vethLink(3), 0);
    set.get(2)!.table.retainOnly(new Set());
    assert.deepEqual(heard, ['own - added 1', 'pod-a 1 added 2', 'pod-b 2 added 3', 'pod-b 2 pruned 3']);
  });
});

/**
 * The rule the renderer's caches rely on: every field of a link that changes moves the table's
 * version, and the link's own version (or the layout, which re-renders everything). Each field
 * needs a case here: one added to LinkState without one fails the test.
 */
describe('LinkTable versions follow every field', () => {
  type Case = (t: LinkTable) => void;
  const base = (): LinkMessage => vethLink(1, { iflink: 2, master: 7, bridgePortState: 3, protoDown: 0, parentBus: 'pci', parentDevice: '0000:01:00.0', ifalias: 'x' });
  const msg = (over: Partial<LinkMessage>): Case => (t) => void t.apply({ ...base(), ...over }, 60_000);
  const noCounters = (): LinkMessage => {
    const m: Record<string, unknown> = { ...base() };
    delete m['carrierChanges'];
    delete m['carrierUpCount'];
    delete m['carrierDownCount'];
    return m as unknown as LinkMessage;
  };
  const cases: Record<string, { setup?: (t: LinkTable) => void; change: Case }> = {
    name: { change: msg({ ifname: 'renamed' }) },
    netns: { change: (t) => t.relabel('elsewhere') },
    adminUp: { change: msg({ flags: IFF_LOWER_UP }) },
    carrier: { change: msg(down) },
    operstate: { change: msg({ operstate: IF_OPER_DOWN }) },
    mtu: { change: msg({ mtu: 9000 }) },
    address: { change: msg({ address: '02:00:00:00:00:02' }) },
    ifalias: { change: msg({ ifalias: 'y' }) },
    master: { change: msg({ master: 8 }) },
    iflink: { change: msg({ iflink: 3 }) },
    linkNetnsid: { change: msg({ linkNetnsid: 1 }) },
    protoDown: { change: msg({ protoDown: 1 }) },
    protoDownReason: { change: msg({ protoDownReason: 2 }) },
    kind: { setup: (t) => void t.apply({ ...base(), infoKind: undefined }, 0), change: msg({ infoKind: 'veth' }) },
    parentBus: { change: msg({ parentBus: 'usb' }) },
    parentDevice: { change: msg({ parentDevice: '0000:02:00.0' }) },
    kernelCounters: { setup: (t) => void t.apply(noCounters(), 0), change: msg({}) },
    carrierChanges: { change: msg({ carrierChanges: 4, carrierUpCount: 2, carrierDownCount: 2 }) },
    carrierUpChanges: { change: msg({ carrierChanges: 4, carrierUpCount: 2, carrierDownCount: 2 }) },
    carrierDownChanges: { change: msg({ carrierChanges: 4, carrierUpCount: 1, carrierDownCount: 3 }) },
    lastChangeMs: { change: msg({ carrierChanges: 4, carrierUpCount: 2, carrierDownCount: 2 }) },
    downMsAccumulated: { setup: (t) => void t.apply({ ...base(), ...down }, 0), change: msg({ carrierChanges: 4, carrierUpCount: 2, carrierDownCount: 2 }) },
    downSinceMs: { change: msg(down) },
    bridgePortState: { change: (t) => void t.apply({ ...base(), family: AF_BRIDGE, bridgePortState: 4 }, 60_000) },
    speedMbps: { change: (t) => void t.applyLinkModes(1, { speedMbps: 10, duplex: undefined, autoneg: undefined, advertisedSpeedMaxMbps: undefined }) },
    duplex: { change: (t) => void t.applyLinkModes(1, { speedMbps: undefined, duplex: 'half', autoneg: undefined, advertisedSpeedMaxMbps: undefined }) },
    autoneg: { change: (t) => void t.applyLinkModes(1, { speedMbps: undefined, duplex: undefined, autoneg: true, advertisedSpeedMaxMbps: undefined }) },
    advertisedSpeedMaxMbps: { change: (t) => void t.applyLinkModes(1, { speedMbps: undefined, duplex: undefined, autoneg: undefined, advertisedSpeedMaxMbps: 100 }) },
    sqi: { change: (t) => void t.applyLinkState(1, { sqi: 1, sqiMax: undefined, extState: undefined, extSubstate: undefined, linkDownEvents: undefined }) },
    sqiMax: { change: (t) => void t.applyLinkState(1, { sqi: undefined, sqiMax: 7, extState: undefined, extSubstate: undefined, linkDownEvents: undefined }) },
    downReason: { change: (t) => void t.applyLinkState(1, { sqi: undefined, sqiMax: undefined, extState: 'no_cable', extSubstate: undefined, linkDownEvents: undefined }) },
    downReasonDetail: { change: (t) => void t.applyLinkState(1, { sqi: undefined, sqiMax: undefined, extState: undefined, extSubstate: 'x', linkDownEvents: undefined }) },
    phyLinkDownEvents: { change: (t) => void t.applyLinkState(1, { sqi: undefined, sqiMax: undefined, extState: undefined, extSubstate: undefined, linkDownEvents: 5 }) },
  };
  /** The link's identity and the version itself. */
  const notState = new Set(['ifindex', 'version']);

  it('every field of LinkState has a case', () => {
    const t = new LinkTable();
    t.apply(base(), 0);
    const fields = Object.keys(t.get(1)!).filter((k) => !notState.has(k));
    assert.deepEqual(fields.filter((k) => !(k in cases)), [], 'fields without a case: say how each changes, and check the version moves');
  });

  for (const [field, { setup, change }] of Object.entries(cases)) {
    it(`a change of ${field} moves the versions`, () => {
      const t = new LinkTable();
      (setup ?? ((x: LinkTable) => void x.apply(base(), 0)))(t);
      const link = t.get(1)!;
      const value = link[field as keyof LinkState];
      const [linkVersion, version, layout] = [link.version, t.version, t.layoutVersion];
      change(t);
      assert.notDeepEqual(link[field as keyof LinkState], value, `the case changes ${field}`);
      assert.ok(t.version > version, `${field}: table version moved`);
      assert.ok(link.version > linkVersion || t.layoutVersion > layout, `${field}: link version (or layout) moved`);
    });
  }
});

describe('linkChangeLog', () => {
  it('logs a prune with the namespace it was in, key by key as before', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const set = new NamespaceSet();
    set.upsert(3, 'pod-a', undefined);
    set.subscribeLinks(linkChangeLog(logger));
    set.own.apply(vethLink(1), 0);
    set.get(3)!.table.apply(vethLink(2), 0);
    set.own.retainOnly(new Set());
    set.get(3)!.table.retainOnly(new Set());
    const gone = lines.filter((l) => l['msg'] === 'link gone (missed its deletion), removed');
    const keys = (l: Record<string, unknown>): string[] => Object.keys(l).filter((k) => !['ts', 'time', 'level', 'msg'].includes(k));
    assert.deepEqual(gone.map(keys), [['device', 'ifindex'], ['device', 'nsid', 'netns', 'ifindex']]);
    assert.deepEqual([gone[1]!['nsid'], gone[1]!['netns']], [3, 'pod-a']);
  });
});
