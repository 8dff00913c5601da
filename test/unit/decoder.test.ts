import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { NetlinkDecodeError, type NetlinkDecodeReason } from '../../src/netlink/errors.js';
import { AttributeReader } from '../../src/netlink/attributes.js';
import {
  NLA_F_NESTED,
  NLA_F_NET_BYTEORDER,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
} from '../../src/netlink/constants.js';
import {
  IFF_LOWER_UP,
  IFF_UP,
  IFLA_ADDRESS,
  IFLA_CARRIER,
  IFLA_CARRIER_CHANGES,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_PARENT_DEV_BUS_NAME,
  IFLA_PARENT_DEV_NAME,
  IFLA_PROTO_DOWN,
  IFLA_PROTO_DOWN_REASON,
  IFLA_PROTO_DOWN_REASON_MASK,
  IFLA_PROTO_DOWN_REASON_VALUE,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../../src/rtnetlink/constants.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import {
  decodeDoneStatus,
  decodeErrorMessage,
  decodeMessages,
  isDone,
  isDumpInterrupted,
  isError,
  isMulti,
} from '../../src/netlink/message.js';
import { encodeLinkDumpRequest } from '../../src/rtnetlink/request.js';
import type { LinkMessage, NetlinkMessage } from '../../src/netlink/types.js';
import {
  doneMessage,
  errorMessage,
  fullLink,
  ifinfomsg,
  linkMessageBytes,
  nestedAttr,
  nlmsg,
  rtattr,
  s32Attr,
  stringAttr,
  u32Attr,
  u8Attr,
  vethLink,
} from '../helpers/netlink-bytes.js';

/** Walk a datagram and decode every link and error message in it, as the monitor will. */
function decodeAll(datagram: Buffer): unknown[] {
  const out: unknown[] = [];
  for (const msg of decodeMessages(datagram)) {
    if (msg.type === RTM_NEWLINK || msg.type === RTM_DELLINK) out.push(decodeLink(msg));
    else if (msg.type === NLMSG_ERROR) out.push(decodeErrorMessage(msg));
  }
  return out;
}

function only(datagram: Buffer): NetlinkMessage {
  const messages = decodeMessages(datagram);
  assert.equal(messages.length, 1);
  return messages[0] as NetlinkMessage;
}

function newlink(attrs: Buffer[], index = 7): Buffer {
  return nlmsg({ type: RTM_NEWLINK }, Buffer.concat([ifinfomsg({ index }), ...attrs]));
}

// Assembled by hand from the struct layouts, independently of the builders:
// RTM_NEWLINK seq 5 NLM_F_MULTI, ifinfomsg {type 1, index 7, flags UP|BROADCAST|RUNNING|
// MULTICAST|LOWER_UP}, then IFNAME "veth0", MTU 1500, OPERSTATE 6, CARRIER 1,
// CARRIER_CHANGES 3, ADDRESS 02:00:5e:10:00:01, LINKINFO{INFO_KIND "veth"}, TXQLEN (unused).
const HAND_MADE = Buffer.from(
  [
    '70000000 1000 0200 05000000 00000000',
    '00 00 0100 07000000 43100100 00000000',
    '0a00 0300 7665746830 00 0000',
    '0800 0400 dc050000',
    '0500 1000 06 000000',
    '0500 2100 01 000000',
    '0800 2300 03000000',
    '0a00 0100 02005e100001 0000',
    '1000 1200 0900 0100 76657468 00 000000',
    '0800 0d00 e8030000',
  ]
    .join('')
    .replace(/ /g, ''),
  'hex',
);

describe('decodeMessages', () => {
  it('walks a hand-assembled RTM_NEWLINK', () => {
    const msg = only(HAND_MADE);
    assert.equal(msg.type, RTM_NEWLINK);
    assert.equal(msg.flags, NLM_F_MULTI);
    assert.equal(msg.seq, 5);
    assert.equal(msg.pid, 0);
    assert.equal(msg.offset, 0);
    assert.equal(msg.payload.length, 0x70 - 16);
    assert.ok(isMulti(msg));
    assert.ok(!isDone(msg));
    assert.ok(!isDumpInterrupted(msg));
  });

  it('returns no messages for an empty datagram', () => {
    assert.deepEqual(decodeMessages(Buffer.alloc(0)), []);
  });

  it('walks several messages in one datagram, with their offsets', () => {
    const first = linkMessageBytes(fullLink({ ifindex: 1, ifname: 'lo' }), { seq: 9 });
    const second = linkMessageBytes(fullLink({ ifindex: 2, ifname: 'veth-a', kind: 'del' }), { seq: 9 });
    const datagram = Buffer.concat([first, second, doneMessage(0, 9)]);
    const messages = decodeMessages(datagram);
    assert.deepEqual(
      messages.map((m) => [m.type, m.offset, m.seq]),
      [
        [RTM_NEWLINK, 0, 9],
        [RTM_DELLINK, first.length, 9],
        [NLMSG_DONE, first.length + second.length, 9],
      ],
    );
    assert.deepEqual(decodeAll(datagram), [
      fullLink({ ifindex: 1, ifname: 'lo' }),
      fullLink({ ifindex: 2, ifname: 'veth-a', kind: 'del' }),
    ]);
  });

  it('advances by nlmsg_len rounded up to 4', () => {
    // First message has a 1-byte payload: nlmsg_len 17, next header at 20.
    const odd = nlmsg({ type: 0x99 }, Buffer.from([0xaa]));
    assert.equal(odd.length, 20);
    const datagram = Buffer.concat([odd, doneMessage()]);
    const messages = decodeMessages(datagram);
    assert.deepEqual(
      messages.map((m) => [m.type, m.offset, m.payload.length]),
      [
        [0x99, 0, 1],
        [NLMSG_DONE, 20, 4],
      ],
    );
  });

  it('accepts a last message whose alignment padding is missing', () => {
    const unpadded = nlmsg({ type: 0x99 }, Buffer.from([1, 2, 3]), false);
    assert.equal(unpadded.length, 19);
    const messages = decodeMessages(Buffer.concat([doneMessage(), unpadded]));
    assert.equal(messages.length, 2);
    assert.deepEqual([...(messages[1] as NetlinkMessage).payload], [1, 2, 3]);
  });

  it('gives payloads as views into the datagram', () => {
    const datagram = Buffer.from(HAND_MADE);
    const msg = only(datagram);
    datagram[16 + 4] = 99; // ifi_index low byte
    assert.equal(msg.payload.readInt32LE(4), 99);
  });
});

describe('decodeLink', () => {
  it('decodes the hand-assembled message', () => {
    assert.deepEqual(
      decodeLink(only(HAND_MADE)),
      fullLink({
        kind: 'new',
        ifindex: 7,
        flags: 0x11043,
        change: 0,
        linkType: 1,
        ifname: 'veth0',
        mtu: 1500,
        operstate: 6,
        carrier: 1,
        carrierChanges: 3,
        address: '02:00:5e:10:00:01',
        infoKind: 'veth',
      }),
    );
  });

  it('decodes every attribute it knows, built', () => {
    const link = fullLink({
      kind: 'new',
      ifindex: 42,
      flags: IFF_UP | IFF_LOWER_UP,
      change: 0xffffffff,
      linkType: 772,
      ifname: 'br-lab',
      operstate: 6,
      carrier: 1,
      carrierChanges: 918,
      carrierUpCount: 459,
      carrierDownCount: 459,
      mtu: 9000,
      address: 'fe:ff:00:0a:bc:de',
      ifalias: 'uplink to rack 3 — ü',
      master: 12,
      infoKind: 'bridge',
    });
    assert.deepEqual(decodeLink(only(linkMessageBytes(link))), link);
  });

  it('decodes RTM_DELLINK as kind "del"', () => {
    const msg = only(linkMessageBytes(fullLink({ ifindex: 3, kind: 'del', ifname: 'gone' })));
    assert.equal(msg.type, RTM_DELLINK);
    assert.equal(decodeLink(msg).kind, 'del');
  });

  it('leaves absent attributes undefined, not 0 or empty', () => {
    const link = decodeLink(only(newlink([])));
    assert.equal(link.ifindex, 7);
    for (const key of ['ifname', 'operstate', 'carrier', 'carrierChanges', 'mtu', 'address', 'ifalias', 'master', 'infoKind'] as const) {
      assert.equal(link[key], undefined, key);
    }
  });

  it('decodes an empty IFLA_IFALIAS ("\\0") as the empty string', () => {
    assert.equal(decodeLink(only(newlink([stringAttr(IFLA_IFALIAS, '')]))).ifalias, '');
  });

  it('decodes names and aliases that are not UTF-8 losslessly: distinct, each bad byte as \\xHH', () => {
    const decode = (attr: number, bytes: number[]): LinkMessage =>
      decodeLink(only(newlink([rtattr(attr, Buffer.from([...bytes, 0]))])));
    // 'a' then 0xff, and 'a' then 0xfe: the kernel accepts both as device names
    assert.equal(decode(IFLA_IFNAME, [0x61, 0xff]).ifname, 'a\\xff');
    assert.equal(decode(IFLA_IFNAME, [0x61, 0xfe]).ifname, 'a\\xfe');
    assert.equal(decode(IFLA_IFALIAS, [0x75, 0x70, 0xc3]).ifalias, 'up\\xc3');
    assert.equal(decode(IFLA_IFALIAS, [0x75, 0x70, 0xc3, 0xbc]).ifalias, 'upü');
  });

  it('stops a string at its first NUL', () => {
    const attr = rtattr(IFLA_IFNAME, Buffer.from('eth0\0junk\0', 'latin1'));
    assert.equal(decodeLink(only(newlink([attr]))).ifname, 'eth0');
  });

  it('skips unknown attributes, including ones with odd sizes and type 0', () => {
    const link = decodeLink(
      only(
        newlink([
          rtattr(0, Buffer.alloc(0)),
          rtattr(999, Buffer.from([1, 2, 3])),
          stringAttr(IFLA_IFNAME, 'eth1'),
          rtattr(0x3fff, Buffer.alloc(37, 0xff)),
          u32Attr(IFLA_MTU, 1280),
        ]),
      ),
    );
    assert.equal(link.ifname, 'eth1');
    assert.equal(link.mtu, 1280);
  });

  it('skips unknown attributes inside IFLA_LINKINFO (IFLA_INFO_DATA)', () => {
    const info = nestedAttr(IFLA_LINKINFO, [
      stringAttr(IFLA_INFO_KIND, 'vlan'),
      nestedAttr(2 | NLA_F_NESTED, [u32Attr(1, 100)]),
    ]);
    assert.equal(decodeLink(only(newlink([info]))).infoKind, 'vlan');
  });

  it('tolerates NLA_F_NESTED on IFLA_LINKINFO and NLA_F_NET_BYTEORDER on any type', () => {
    const link = decodeLink(
      only(
        newlink([
          nestedAttr(IFLA_LINKINFO | NLA_F_NESTED, [stringAttr(IFLA_INFO_KIND, 'veth')]),
          u32Attr(IFLA_MASTER | NLA_F_NET_BYTEORDER, 5),
        ]),
      ),
    );
    assert.equal(link.infoKind, 'veth');
    assert.equal(link.master, 5);
  });

  it('formats IFLA_ADDRESS of any length as lower-case colon hex', () => {
    const ipip = rtattr(IFLA_ADDRESS, Buffer.from([0xc0, 0xa8, 0x00, 0x01]));
    assert.equal(decodeLink(only(newlink([ipip]))).address, 'c0:a8:00:01');
    const empty = rtattr(IFLA_ADDRESS, Buffer.alloc(0));
    assert.equal(decodeLink(only(newlink([empty]))).address, '');
    const ib = rtattr(IFLA_ADDRESS, Buffer.alloc(20, 0xab));
    assert.equal(decodeLink(only(newlink([ib]))).address, Array(20).fill('ab').join(':'));
  });

  it('takes the last of duplicate attributes', () => {
    const link = decodeLink(only(newlink([u32Attr(IFLA_MTU, 1500), u32Attr(IFLA_MTU, 9000)])));
    assert.equal(link.mtu, 9000);
  });

  it('reads ifi_index as signed and ifi_flags, ifi_change as unsigned', () => {
    const payload = ifinfomsg({ index: -1, flags: 0xffffffff, change: 0x80000000 });
    const link = decodeLink(only(nlmsg({ type: RTM_NEWLINK }, payload)));
    assert.equal(link.ifindex, -1);
    assert.equal(link.flags, 0xffffffff);
    assert.equal(link.change, 0x80000000);
  });

  it('decodes u32 counters above 2^31 as positive numbers', () => {
    const link = decodeLink(only(newlink([u32Attr(IFLA_CARRIER_CHANGES, 0xfffffffe)])));
    assert.equal(link.carrierChanges, 0xfffffffe);
  });

  it('refuses a message of another type', () => {
    assert.throws(
      () => decodeLink(only(doneMessage())),
      (e: unknown) => e instanceof NetlinkDecodeError && e.reason === 'unexpected_type',
    );
  });
});

// Assembled by hand from if_link.h, independently of the builders: a macvlan held protodown by
// reason bit 3, with a parent device. RTM_NEWLINK, ifinfomsg {index 9, flags UP}, then IFLA_LINK 4,
// IFLA_LINK_NETNSID 2, IFLA_PROTO_DOWN 1, IFLA_PROTO_DOWN_REASON (NLA_F_NESTED) {VALUE 8},
// IFLA_PARENT_DEV_NAME "0000:03:00.0", IFLA_PARENT_DEV_BUS_NAME "pci".
const HAND_MADE_LOWER = Buffer.from(
  [
    '60000000 1000 0000 00000000 00000000',
    '00 00 0100 09000000 01000000 00000000',
    '0800 0500 04000000',
    '0800 2500 02000000',
    '0500 2700 01 000000',
    '0c00 3780 0800 0200 08000000',
    '1100 3800 303030303a30333a30302e30 00 000000',
    '0800 3900 70636900',
  ]
    .join('')
    .replace(/ /g, ''),
  'hex',
);

describe('decodeLink: lower device, protodown and parent device', () => {
  it('decodes the hand-assembled message', () => {
    assert.equal(HAND_MADE_LOWER.readUInt32LE(0), HAND_MADE_LOWER.length);
    assert.deepEqual(
      decodeLink(only(HAND_MADE_LOWER)),
      fullLink({
        ifindex: 9,
        flags: IFF_UP,
        iflink: 4,
        linkNetnsid: 2,
        protoDown: 1,
        protoDownReason: 8,
        parentDevice: '0000:03:00.0',
        parentBus: 'pci',
      }),
    );
  });

  it('leaves each of them undefined when absent, not 0 or empty', () => {
    const link = decodeLink(only(newlink([stringAttr(IFLA_IFNAME, 'br0')])));
    for (const key of ['iflink', 'linkNetnsid', 'protoDown', 'protoDownReason', 'parentDevice', 'parentBus'] as const) {
      assert.ok(key in link, key);
      assert.equal(link[key], undefined, key);
    }
  });

  it('decodes protodown off as 0 and an IFLA_LINK of 0 (a veth whose peer is gone) as 0', () => {
    const link = decodeLink(only(newlink([u8Attr(IFLA_PROTO_DOWN, 0), u32Attr(IFLA_LINK, 0)])));
    assert.equal(link.protoDown, 0);
    assert.equal(link.iflink, 0);
  });

  it('reads IFLA_LINK_NETNSID as signed and the reason bits as unsigned', () => {
    const link = decodeLink(
      only(newlink([s32Attr(IFLA_LINK_NETNSID, -1), nestedAttr(IFLA_PROTO_DOWN_REASON, [u32Attr(IFLA_PROTO_DOWN_REASON_VALUE, 0x80000001)])])),
    );
    assert.equal(link.linkNetnsid, -1);
    assert.equal(link.protoDownReason, 0x80000001);
  });

  it('keeps the reason VALUE, skips a MASK (request-only) and unknown nested attributes; an empty nest leaves it undefined', () => {
    const withMask = nestedAttr(IFLA_PROTO_DOWN_REASON | NLA_F_NESTED, [
      u32Attr(IFLA_PROTO_DOWN_REASON_MASK, 0xffffffff),
      rtattr(7, Buffer.from([1, 2, 3])),
      u32Attr(IFLA_PROTO_DOWN_REASON_VALUE, 5),
    ]);
    assert.equal(decodeLink(only(newlink([withMask]))).protoDownReason, 5);
    assert.equal(decodeLink(only(newlink([nestedAttr(IFLA_PROTO_DOWN_REASON, [])]))).protoDownReason, undefined);
  });

  it('decodes the parent strings up to their first NUL, like IFLA_IFNAME', () => {
    const link = decodeLink(
      only(newlink([rtattr(IFLA_PARENT_DEV_NAME, Buffer.from('virtio2\0x\0', 'latin1')), stringAttr(IFLA_PARENT_DEV_BUS_NAME, 'virtio')])),
    );
    assert.equal(link.parentDevice, 'virtio2');
    assert.equal(link.parentBus, 'virtio');
  });

  it('decodes them built, round trip', () => {
    const link = vethLink(5, { iflink: 6, linkNetnsid: 3, protoDown: 0, protoDownReason: 0xffffffff, parentDevice: 'usb1-1:1.0', parentBus: 'usb' });
    assert.deepEqual(decodeLink(only(linkMessageBytes(link))), link);
  });
});

describe('NLMSG_ERROR, NLMSG_DONE and NLM_F_DUMP_INTR', () => {
  it('decodes an error with the request header it answers', () => {
    const request = encodeLinkDumpRequest(77).subarray(0, 16);
    const msg = only(errorMessage(-105, request));
    assert.ok(isError(msg));
    assert.deepEqual(decodeErrorMessage(msg), { error: -105, requestType: RTM_GETLINK, requestSeq: 77 });
  });

  it('decodes an ACK (error 0)', () => {
    const msg = only(errorMessage(0, encodeLinkDumpRequest(3)));
    assert.deepEqual(decodeErrorMessage(msg), { error: 0, requestType: RTM_GETLINK, requestSeq: 3 });
  });

  it('decodes an error without the request header', () => {
    assert.deepEqual(decodeErrorMessage(only(errorMessage(-1, null))), { error: -1 });
  });

  it('refuses an NLMSG_ERROR too short for its error field', () => {
    const msg = only(nlmsg({ type: NLMSG_ERROR }, Buffer.from([0xff, 0xff])));
    assert.throws(
      () => decodeErrorMessage(msg),
      (e: unknown) => e instanceof NetlinkDecodeError && e.reason === 'short_error' && e.offset === 0,
    );
  });

  it('refuses a message of another type', () => {
    assert.throws(
      () => decodeErrorMessage(only(doneMessage())),
      (e: unknown) => e instanceof NetlinkDecodeError && e.reason === 'unexpected_type',
    );
  });

  it('recognises NLMSG_DONE and reads its status', () => {
    const ok = only(doneMessage(0));
    assert.ok(isDone(ok));
    assert.ok(isMulti(ok));
    assert.equal(decodeDoneStatus(ok), 0);
    assert.equal(decodeDoneStatus(only(doneMessage(-4))), -4);
    assert.equal(decodeDoneStatus(only(nlmsg({ type: NLMSG_DONE }))), 0);
  });

  it('flags interrupted dumps', () => {
    const link = fullLink({ ifindex: 1 });
    const interrupted = only(linkMessageBytes(link, { flags: NLM_F_MULTI | NLM_F_DUMP_INTR }));
    assert.ok(isDumpInterrupted(interrupted));
    assert.ok(isMulti(interrupted));
    assert.ok(!isDumpInterrupted(only(linkMessageBytes(link, { flags: NLM_F_MULTI }))));
    const done = only(nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI | NLM_F_DUMP_INTR }, Buffer.alloc(4)));
    assert.ok(isDone(done) && isDumpInterrupted(done));
  });
});

describe('malformed input', () => {
  const valid = linkMessageBytes(fullLink({ ifindex: 1, ifname: 'lo', mtu: 65536 }));
  const cases: {
    name: string;
    bytes: Buffer;
    reason: NetlinkDecodeReason;
    offset: number;
    attributeType?: number;
  }[] = [
    { name: 'short header', bytes: Buffer.alloc(12), reason: 'short_header', offset: 0 },
    {
      name: 'short header after a valid message',
      bytes: Buffer.concat([valid, Buffer.alloc(8)]),
      reason: 'short_header',
      offset: valid.length,
    },
    {
      name: 'stray padding after a padded message',
      bytes: Buffer.concat([valid, Buffer.alloc(4)]),
      reason: 'short_header',
      offset: valid.length,
    },
    {
      name: 'nlmsg_len below 16',
      bytes: nlmsg({ type: RTM_NEWLINK, len: 8 }, ifinfomsg({ index: 1 })),
      reason: 'bad_length',
      offset: 0,
    },
    { name: 'nlmsg_len zero', bytes: nlmsg({ type: RTM_NEWLINK, len: 0 }), reason: 'bad_length', offset: 0 },
    {
      name: 'nlmsg_len past end',
      bytes: nlmsg({ type: RTM_NEWLINK, len: 36 }, ifinfomsg({ index: 1 })),
      reason: 'truncated',
      offset: 0,
    },
    {
      name: 'nlmsg_len 0xffffffff',
      bytes: nlmsg({ type: RTM_NEWLINK, len: 0xffffffff }, ifinfomsg({ index: 1 })),
      reason: 'truncated',
      offset: 0,
    },
    {
      name: 'second message past end',
      bytes: Buffer.concat([valid, nlmsg({ type: NLMSG_DONE, len: 64 }, Buffer.alloc(4))]),
      reason: 'truncated',
      offset: valid.length,
    },
    {
      name: 'short ifinfomsg',
      bytes: nlmsg({ type: RTM_NEWLINK }, Buffer.alloc(12)),
      reason: 'short_ifinfomsg',
      offset: 16,
    },
    {
      name: 'attribute past end',
      bytes: newlink([rtattr(IFLA_IFNAME, Buffer.from('eth0\0'), { len: 40 })]),
      reason: 'attribute_overrun',
      offset: 32,
      attributeType: IFLA_IFNAME,
    },
    {
      name: 'second attribute past end',
      bytes: newlink([u32Attr(IFLA_MTU, 1500), rtattr(IFLA_MASTER, Buffer.alloc(4), { len: 12 })]),
      reason: 'attribute_overrun',
      offset: 40,
      attributeType: IFLA_MASTER,
    },
    {
      name: 'attribute header cut short',
      bytes: nlmsg({ type: RTM_NEWLINK }, Buffer.concat([ifinfomsg({ index: 1 }), Buffer.from([8, 0])])),
      reason: 'attribute_overrun',
      offset: 32,
    },
    {
      name: 'leftover bytes after the last attribute',
      bytes: nlmsg(
        { type: RTM_NEWLINK },
        Buffer.concat([ifinfomsg({ index: 1 }), u32Attr(IFLA_MTU, 1500), Buffer.from([0, 0])]),
      ),
      reason: 'attribute_overrun',
      offset: 40,
    },
    {
      name: 'rta_len below 4',
      bytes: newlink([rtattr(IFLA_MTU, Buffer.alloc(4), { len: 2 })]),
      reason: 'bad_attribute_length',
      offset: 32,
      attributeType: IFLA_MTU,
    },
    {
      name: 'rta_len zero',
      bytes: newlink([rtattr(0, Buffer.alloc(4), { len: 0 })]),
      reason: 'bad_attribute_length',
      offset: 32,
      attributeType: 0,
    },
    {
      name: 'u32 of 2 bytes',
      bytes: newlink([rtattr(IFLA_MTU, Buffer.from([0xdc, 0x05]))]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_MTU,
    },
    {
      name: 'u32 of 8 bytes',
      bytes: newlink([stringAttr(IFLA_IFNAME, 'x'), rtattr(IFLA_CARRIER_CHANGES, Buffer.alloc(8))]),
      reason: 'bad_attribute_size',
      offset: 40,
      attributeType: IFLA_CARRIER_CHANGES,
    },
    {
      name: 'operstate of 4 bytes',
      bytes: newlink([u32Attr(IFLA_OPERSTATE, 6)]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_OPERSTATE,
    },
    {
      name: 'carrier of 0 bytes',
      bytes: newlink([rtattr(IFLA_CARRIER, Buffer.alloc(0))]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_CARRIER,
    },
    {
      name: 'master of 1 byte',
      bytes: newlink([u8Attr(IFLA_MASTER, 1)]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_MASTER,
    },
    {
      name: 'ifname without NUL',
      bytes: newlink([rtattr(IFLA_IFNAME, Buffer.from('eth0'))]),
      reason: 'bad_string',
      offset: 32,
      attributeType: IFLA_IFNAME,
    },
    {
      name: 'empty ifname payload',
      bytes: newlink([rtattr(IFLA_IFNAME, Buffer.alloc(0))]),
      reason: 'bad_string',
      offset: 32,
      attributeType: IFLA_IFNAME,
    },
    {
      name: 'ifalias without NUL',
      bytes: newlink([rtattr(IFLA_IFALIAS, Buffer.from('uplink'))]),
      reason: 'bad_string',
      offset: 32,
      attributeType: IFLA_IFALIAS,
    },
    {
      name: 'nested linkinfo overrun',
      bytes: newlink([nestedAttr(IFLA_LINKINFO, [rtattr(IFLA_INFO_KIND, Buffer.from('veth\0'), { len: 20 })])]),
      reason: 'attribute_overrun',
      offset: 36,
      attributeType: IFLA_INFO_KIND,
    },
    {
      name: 'nested rta_len below 4',
      bytes: newlink([nestedAttr(IFLA_LINKINFO, [rtattr(IFLA_INFO_KIND, Buffer.alloc(4), { len: 3 })])]),
      reason: 'bad_attribute_length',
      offset: 36,
      attributeType: IFLA_INFO_KIND,
    },
    {
      name: 'info_kind without NUL',
      bytes: newlink([nestedAttr(IFLA_LINKINFO, [rtattr(IFLA_INFO_KIND, Buffer.from('veth'))])]),
      reason: 'bad_string',
      offset: 36,
      attributeType: IFLA_INFO_KIND,
    },
    {
      name: 'bad attribute in the second message',
      bytes: Buffer.concat([valid, newlink([rtattr(IFLA_MTU, Buffer.alloc(3))])]),
      reason: 'bad_attribute_size',
      offset: valid.length + 32,
      attributeType: IFLA_MTU,
    },
    {
      name: 'IFLA_LINK of 2 bytes',
      bytes: newlink([rtattr(IFLA_LINK, Buffer.from([4, 0]))]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_LINK,
    },
    {
      name: 'IFLA_LINK_NETNSID of 8 bytes',
      bytes: newlink([rtattr(IFLA_LINK_NETNSID, Buffer.alloc(8))]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_LINK_NETNSID,
    },
    {
      name: 'IFLA_PROTO_DOWN of 4 bytes',
      bytes: newlink([u32Attr(IFLA_PROTO_DOWN, 1)]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_PROTO_DOWN,
    },
    {
      name: 'IFLA_PROTO_DOWN of 0 bytes',
      bytes: newlink([rtattr(IFLA_PROTO_DOWN, Buffer.alloc(0))]),
      reason: 'bad_attribute_size',
      offset: 32,
      attributeType: IFLA_PROTO_DOWN,
    },
    {
      name: 'IFLA_PROTO_DOWN_REASON_VALUE of 2 bytes',
      bytes: newlink([nestedAttr(IFLA_PROTO_DOWN_REASON, [rtattr(IFLA_PROTO_DOWN_REASON_VALUE, Buffer.from([1, 0]))])]),
      reason: 'bad_attribute_size',
      offset: 36,
      attributeType: IFLA_PROTO_DOWN_REASON_VALUE,
    },
    {
      name: 'IFLA_PROTO_DOWN_REASON_MASK of 1 byte',
      bytes: newlink([nestedAttr(IFLA_PROTO_DOWN_REASON, [u8Attr(IFLA_PROTO_DOWN_REASON_MASK, 1)])]),
      reason: 'bad_attribute_size',
      offset: 36,
      attributeType: IFLA_PROTO_DOWN_REASON_MASK,
    },
    {
      name: 'IFLA_PROTO_DOWN_REASON nest overrun',
      bytes: newlink([nestedAttr(IFLA_PROTO_DOWN_REASON, [rtattr(IFLA_PROTO_DOWN_REASON_VALUE, Buffer.alloc(4), { len: 16 })])]),
      reason: 'attribute_overrun',
      offset: 36,
      attributeType: IFLA_PROTO_DOWN_REASON_VALUE,
    },
    {
      name: 'IFLA_PARENT_DEV_NAME without NUL',
      bytes: newlink([rtattr(IFLA_PARENT_DEV_NAME, Buffer.from('virtio2'))]),
      reason: 'bad_string',
      offset: 32,
      attributeType: IFLA_PARENT_DEV_NAME,
    },
    {
      name: 'empty IFLA_PARENT_DEV_BUS_NAME payload',
      bytes: newlink([rtattr(IFLA_PARENT_DEV_BUS_NAME, Buffer.alloc(0))]),
      reason: 'bad_string',
      offset: 32,
      attributeType: IFLA_PARENT_DEV_BUS_NAME,
    },
    {
      name: 'NLMSG_ERROR of 2 bytes',
      bytes: nlmsg({ type: NLMSG_ERROR }, Buffer.alloc(2)),
      reason: 'short_error',
      offset: 0,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => decodeAll(c.bytes),
        (e: unknown) => {
          assert.ok(e instanceof NetlinkDecodeError, `not a NetlinkDecodeError: ${String(e)}`);
          assert.equal(e.code, 'NETLINK_DECODE');
          assert.equal(e.reason, c.reason);
          assert.equal(e.offset, c.offset);
          assert.equal(e.attributeType, c.attributeType);
          return true;
        },
      );
    });
  }
});

describe('AttributeReader', () => {
  it('walks attributes with their datagram offsets and exact-size getters', () => {
    const region = Buffer.concat([
      Buffer.alloc(8), // bytes before the region
      rtattr(1, Buffer.from([0x34, 0x12])),
      u32Attr(2, 0xfffffff6),
      u8Attr(3, 0xff),
    ]);
    const r = new AttributeReader().init(region, 8, region.length, 100);
    const seen: [number, number, number][] = [];
    while (r.next()) {
      let value: number;
      if (r.type === 1) value = r.u16();
      else if (r.type === 2) value = r.s32();
      else value = r.u8();
      seen.push([r.type, r.offset, value]);
    }
    assert.deepEqual(seen, [
      [1, 108, 0x1234],
      [2, 116, -10],
      [3, 124, 0xff],
    ]);
  });

  it('exposes the raw type with flag bits and the masked type', () => {
    const r = new AttributeReader().init(rtattr(7 | NLA_F_NESTED | NLA_F_NET_BYTEORDER, Buffer.alloc(0)), 0, 4, 0);
    assert.ok(r.next());
    assert.equal(r.type, 7);
    assert.equal(r.rawType, 7 | NLA_F_NESTED | NLA_F_NET_BYTEORDER);
    assert.equal(r.length, 0);
    assert.ok(!r.next());
  });

  it('returns bytes as a view of exactly the payload', () => {
    const buf = rtattr(9, Buffer.from([1, 2, 3]));
    const r = new AttributeReader().init(buf, 0, buf.length, 0);
    assert.ok(r.next());
    assert.deepEqual([...r.bytes()], [1, 2, 3]);
    assert.equal(r.bytes().buffer, buf.buffer);
  });

  it('refuses a region outside its buffer (a caller bug, not bad input)', () => {
    assert.throws(() => new AttributeReader().init(Buffer.alloc(4), 0, 8, 0), RangeError);
  });
});

describe('encodeLinkDumpRequest', () => {
  it('encodes RTM_GETLINK | NLM_F_REQUEST | NLM_F_DUMP with an AF_UNSPEC ifinfomsg', () => {
    assert.equal(
      encodeLinkDumpRequest(0x01020304).toString('hex'),
      '20000000' + '1200' + '0103' + '04030201' + '00000000' + '00'.repeat(16),
    );
  });

  it('decodes back to what it says', () => {
    const msg = only(encodeLinkDumpRequest(0xffffffff));
    assert.equal(msg.type, RTM_GETLINK);
    assert.equal(msg.flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert.equal(msg.seq, 0xffffffff);
    assert.equal(msg.payload.length, 16);
  });

  it('refuses a sequence number that is not a u32', () => {
    for (const seq of [-1, 2 ** 32, 1.5, Number.NaN]) {
      assert.throws(() => encodeLinkDumpRequest(seq), RangeError, String(seq));
    }
  });
});
