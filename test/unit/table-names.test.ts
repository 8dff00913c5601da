// One entry per device name: the kernel keeps names unique, so a message giving a name to a link
// while another entry still holds it proves that entry stale (its deletion or rename was lost in
// an overrun). Two entries with one name would render duplicate series, and Prometheus rejects
// a whole scrape that has any. Found by `npm run fuzz` (pipeline property).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkTable } from '../../src/links/table.js';
import { IFF_LOWER_UP, IFF_UP, IFLA_IFNAME } from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import { decodeMessages } from '../../src/netlink/message.js';
import { fullLink, linkMessageBytes, rtattr } from '../helpers/netlink-bytes.js';

const link = (ifindex: number, ifname: string, over: Partial<LinkMessage> = {}): LinkMessage =>
  fullLink({
    ifindex,
    ifname,
    family: 0,
    flags: IFF_UP | IFF_LOWER_UP,
    carrier: 1,
    carrierChanges: 2,
    carrierUpCount: 1,
    carrierDownCount: 1,
    infoKind: 'veth',
    ...over,
  });

function names(table: LinkTable): string[] {
  return [...table.links()].map((l) => `${l.ifindex}:${l.name}`).sort();
}

describe('LinkTable names', () => {
  it('a new link taking the name of one whose deletion was lost replaces it', () => {
    const table = new LinkTable();
    table.apply(link(5, 'veth0'), 0);
    table.apply(link(6, 'veth1'), 0);
    const layout = table.layoutVersion;
    // RTM_DELLINK for 5 lost; the name comes back on a new device
    assert.equal(table.apply(link(9, 'veth0'), 1).kind, 'added');
    assert.deepEqual(names(table), ['6:veth1', '9:veth0']);
    assert.ok(table.layoutVersion > layout);
  });

  it('a rename onto a name whose holder’s rename was lost drops the holder until it is heard of again', () => {
    const table = new LinkTable();
    table.apply(link(1, 'a'), 0);
    table.apply(link(2, 'b'), 0);
    // lost: 1 renamed a → c; received: 2 renamed b → a
    const result = table.apply(link(2, 'a'), 1);
    assert.equal(result.kind, 'updated');
    assert.deepEqual(names(table), ['2:a']);
    // the next message about 1 (or the resync dump) brings it back under its current name
    assert.equal(table.apply(link(1, 'c'), 2).kind, 'added');
    assert.deepEqual(names(table), ['1:c', '2:a']);
  });

  it('renames received in order swap names without dropping anything', () => {
    const table = new LinkTable();
    table.apply(link(1, 'a'), 0);
    table.apply(link(2, 'b'), 0);
    table.apply(link(1, 'tmp'), 1);
    table.apply(link(2, 'a'), 1);
    table.apply(link(1, 'b'), 1);
    assert.deepEqual(names(table), ['1:b', '2:a']);
    assert.equal(table.get(1)?.carrierChanges, 2);
  });

  it('a deleted or pruned link gives its name back', () => {
    const table = new LinkTable();
    table.apply(link(1, 'a'), 0);
    table.apply(link(2, 'b'), 0);
    table.apply(link(3, 'c'), 0);
    table.apply(link(1, 'a', { kind: 'del' }), 1);
    table.apply(link(3, 'c'), 1);
    assert.deepEqual(table.retainOnly(new Set([3])).map((l) => l.name), ['b']);
    // new devices under the freed names, and a rename onto one: nothing else is dropped
    table.apply(link(7, 'a'), 2);
    table.apply(link(8, 'b'), 2);
    table.apply(link(3, 'c2'), 2);
    table.apply(link(9, 'c'), 2);
    assert.deepEqual(names(table), ['3:c2', '7:a', '8:b', '9:c']);
  });

  it('an ifindex reused by another device (lost deletion) releases the old name', () => {
    const table = new LinkTable();
    table.apply(link(4, 'old', { carrierChanges: 40, carrierUpCount: 20, carrierDownCount: 20 }), 0);
    // counters went backwards: another device under the same ifindex
    assert.equal(table.apply(link(4, 'new'), 1).kind, 'added');
    table.apply(link(10, 'old'), 2);
    assert.deepEqual(names(table), ['10:old', '4:new']);
  });

  it('two links whose names differ only in bytes that are not UTF-8 are two links, neither evicted', () => {
    // RTM_NEWLINK of ifindex with IFLA_IFNAME 'a' + one byte that is not UTF-8, as the kernel sends it
    const decoded = (ifindex: number, byte: number): LinkMessage => {
      const bytes = linkMessageBytes(link(ifindex, 'x', { ifname: undefined }), {}, [rtattr(IFLA_IFNAME, Buffer.from([0x61, byte, 0]))]);
      return decodeLink([...decodeMessages(bytes)][0]!);
    };
    const table = new LinkTable();
    const evicted: number[] = [];
    table.subscribe((change) => {
      if (change.kind === 'evicted') evicted.push(change.link.ifindex);
    });
    for (let round = 0; round < 3; round++) {
      table.apply(decoded(11, 0xff), round);
      table.apply(decoded(12, 0xfe), round);
      assert.deepEqual(evicted, [], `round ${round}: nothing evicted`);
    }
    assert.deepEqual(names(table), ['11:a\\xff', '12:a\\xfe']);
  });
});
