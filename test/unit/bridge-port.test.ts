// Bridge port STP state: decodeLink reads IFLA_BRPORT_STATE from an AF_BRIDGE message's
// IFLA_PROTINFO and from an AF_UNSPEC message's IFLA_LINKINFO → IFLA_INFO_SLAVE_DATA (slave kind
// "bridge"), and the table applies it to the link with that ifindex; an AF_BRIDGE RTM_DELLINK
// clears it and never deletes the link.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { NetlinkDecodeError } from '../../src/netlink/errors.js';
import { LinkTable } from '../../src/links/table.js';
import { NLA_F_NESTED } from '../../src/netlink/constants.js';
import {
  AF_BRIDGE,
  BR_STATE_BLOCKING,
  BR_STATE_FORWARDING,
  IFLA_BRPORT_STATE,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINKINFO,
  IFLA_PROTINFO,
  RTM_DELLINK,
  RTM_NEWLINK,
} from '../../src/rtnetlink/constants.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import { decodeMessages } from '../../src/netlink/message.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { ifinfomsg, nestedAttr, nlmsg, rtattr, stringAttr, u8Attr, vethLink } from '../helpers/netlink-bytes.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/netlink/', import.meta.url));

function fixtureLinks(name: string): LinkMessage[] {
  return decodeMessages(readFileSync(`${FIXTURES}${name}.bin`)).map((m) => decodeLink(m));
}

function message(family: number, attrs: Buffer[], type: number = RTM_NEWLINK, ifindex = 3): LinkMessage {
  const bytes = nlmsg({ type }, Buffer.concat([ifinfomsg({ family, index: ifindex, flags: 0x1 }), ...attrs]));
  const [msg] = decodeMessages(bytes);
  assert.ok(msg);
  return decodeLink(msg);
}

const protinfo = (...children: Buffer[]): Buffer => nestedAttr(IFLA_PROTINFO | NLA_F_NESTED, children);
const linkinfo = (...children: Buffer[]): Buffer => nestedAttr(IFLA_LINKINFO, children);

describe('bridge port state decode', () => {
  it('reads the kernel-recorded AF_BRIDGE messages (IFLA_PROTINFO): disabled, then forwarding', () => {
    const [disabled] = fixtureLinks('26-bridge-newlink-bridge-uplink0');
    const [forwarding] = fixtureLinks('28-bridge-newlink-bridge-uplink0');
    assert.equal(disabled?.family, AF_BRIDGE);
    assert.equal(disabled?.bridgePortState, 0);
    assert.equal(forwarding?.bridgePortState, BR_STATE_FORWARDING);
  });

  it('reads the kernel-recorded AF_UNSPEC message of a port (IFLA_INFO_SLAVE_DATA), and none for the bridge itself', () => {
    const [port] = fixtureLinks('23-bridge-newlink-uplink0');
    assert.equal(port?.family, 0);
    assert.equal(port?.infoKind, 'veth');
    assert.equal(port?.bridgePortState, 0);
    const [bridge] = fixtureLinks('22-bridge-newlink-br0');
    assert.equal(bridge?.infoKind, 'bridge');
    assert.equal(bridge?.bridgePortState, undefined);
  });

  it('reads built messages to the uapi layout, in either nesting', () => {
    assert.equal(message(AF_BRIDGE, [stringAttr(IFLA_IFNAME, 'p0'), protinfo(u8Attr(IFLA_BRPORT_STATE, BR_STATE_BLOCKING))]).bridgePortState, 4);
    const slave = linkinfo(
      stringAttr(IFLA_INFO_KIND, 'veth'),
      stringAttr(IFLA_INFO_SLAVE_KIND, 'bridge'),
      nestedAttr(IFLA_INFO_SLAVE_DATA | NLA_F_NESTED, [rtattr(2, Buffer.from([0x20, 0])), u8Attr(IFLA_BRPORT_STATE, 2)]),
    );
    const decoded = message(0, [slave]);
    assert.equal(decoded.bridgePortState, 2);
    assert.equal(decoded.infoKind, 'veth');
  });

  it('ignores the slave data of other masters and the IFLA_PROTINFO of other families', () => {
    const bond = linkinfo(stringAttr(IFLA_INFO_SLAVE_KIND, 'bond'), nestedAttr(IFLA_INFO_SLAVE_DATA, [u8Attr(1, 1)]));
    assert.equal(message(0, [bond]).bridgePortState, undefined);
    // AF_INET6 (10) sends IPv6 flags in IFLA_PROTINFO; attribute 1 there is not a port state.
    assert.equal(message(10, [protinfo(u8Attr(1, 3))]).bridgePortState, undefined);
    assert.equal(message(0, [protinfo(u8Attr(IFLA_BRPORT_STATE, 3))]).bridgePortState, undefined);
  });

  it('refuses a malformed port state: wrong size, or slave data running past its parent', () => {
    const wrongSize = protinfo(rtattr(IFLA_BRPORT_STATE, Buffer.from([3, 0])));
    assert.throws(() => message(AF_BRIDGE, [wrongSize]), (e: unknown) => e instanceof NetlinkDecodeError && e.reason === 'bad_attribute_size');
    const inner = u8Attr(IFLA_BRPORT_STATE, 3);
    const overrun = Buffer.concat([inner]);
    overrun.writeUInt16LE(40, 0); // rta_len past the nest
    assert.throws(
      () => message(0, [linkinfo(stringAttr(IFLA_INFO_SLAVE_KIND, 'bridge'), nestedAttr(IFLA_INFO_SLAVE_DATA, [overrun]))]),
      (e: unknown) => e instanceof NetlinkDecodeError && /attribute/.test(e.reason),
    );
  });
});

describe('bridge port state in the table', () => {
  const port = (over: Partial<LinkMessage> = {}): LinkMessage => vethLink(3, { master: 4, ...over });
  const bridgeMsg = (state: number | undefined, kind: 'new' | 'del' = 'new'): LinkMessage =>
    vethLink(3, { family: AF_BRIDGE, kind, bridgePortState: state, master: 4 });

  it('an AF_BRIDGE message sets the state of the link with its ifindex and bumps its version', () => {
    const t = new LinkTable();
    t.apply(port({ bridgePortState: 1 }), 0);
    const link = t.get(3);
    assert.equal(link?.bridgePortState, 1);
    const version = link.version;
    const tableVersion = t.version;
    assert.equal(t.apply(bridgeMsg(BR_STATE_BLOCKING), 1).kind, 'updated');
    assert.equal(link.bridgePortState, BR_STATE_BLOCKING);
    assert.ok(link.version > version && t.version > tableVersion);
    assert.equal(t.apply(bridgeMsg(BR_STATE_BLOCKING), 2).kind, 'unchanged');
  });

  it('an AF_BRIDGE RTM_DELLINK clears the state and never deletes the link', () => {
    const t = new LinkTable();
    t.apply(port({ bridgePortState: 3 }), 0);
    const result = t.apply(bridgeMsg(undefined, 'del'), 1);
    assert.equal(result.kind, 'updated');
    assert.equal(t.size, 1);
    assert.equal(t.get(3)?.bridgePortState, undefined);
    assert.equal(t.get(3)?.name, 'veth3');
  });

  it('an AF_BRIDGE message for a link the table does not know is ignored', () => {
    const t = new LinkTable();
    assert.equal(t.apply(bridgeMsg(3), 0).kind, 'ignored');
    assert.equal(t.size, 0);
  });

  it('an AF_UNSPEC message without slave data says the link is no longer a port', () => {
    const t = new LinkTable();
    t.apply(port({ bridgePortState: 3 }), 0);
    assert.equal(t.apply(vethLink(3), 1).kind, 'updated');
    assert.equal(t.get(3)?.bridgePortState, undefined);
  });

  it('replaying the recorded bridge steps: uplink0 ends forwarding, and the AF_BRIDGE RTM_DELLINK (37) deletes nothing', () => {
    const t = new LinkTable();
    const names = [
      '04-add-pair-newlink-vethb', '05-add-pair-newlink-vetha', '17-rename-newlink-vetha', '23-bridge-newlink-uplink0',
      '26-bridge-newlink-bridge-uplink0', '28-bridge-newlink-bridge-uplink0', '29-bridge-newlink-bridge-uplink0',
    ];
    let now = 0;
    for (const name of names) for (const m of fixtureLinks(name)) t.apply(m, (now += 1000));
    const uplink = [...t.links()].find((l) => l.name === 'uplink0');
    assert.equal(uplink?.bridgePortState, BR_STATE_FORWARDING);
    const [del] = fixtureLinks('37-delete-dellink-bridge-uplink0');
    assert.equal(del?.kind, 'del');
    assert.equal(del?.family, AF_BRIDGE);
    const before = t.size;
    t.apply(del, (now += 1000));
    assert.equal(t.size, before);
    assert.equal(uplink.bridgePortState, undefined);
  });
});

// RTM_DELLINK is exercised above through the recorded message; keep the import used for builders.
void RTM_DELLINK;
