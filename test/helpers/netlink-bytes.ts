// Byte builders for netlink test messages: nlmsghdr, ifinfomsg, rtattr, nested attributes,
// and a whole RTM_NEWLINK/RTM_DELLINK from a LinkMessage. Little-endian, like the decoder.
// Every builder takes overrides so tests can build malformed bytes on purpose.

import {
  NLA_F_NESTED,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLM_F_MULTI,
} from '../../src/netlink/constants.js';
import {
  IFLA_ADDRESS,
  IFLA_CARRIER,
  IFLA_CARRIER_CHANGES,
  IFLA_CARRIER_DOWN_COUNT,
  IFLA_CARRIER_UP_COUNT,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_BRPORT_STATE,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_PARENT_DEV_BUS_NAME,
  IFLA_PARENT_DEV_NAME,
  IFLA_PROTINFO,
  IFLA_PROTO_DOWN,
  IFLA_PROTO_DOWN_REASON,
  IFLA_PROTO_DOWN_REASON_VALUE,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  RTM_DELLINK,
  RTM_NEWLINK,
  IFF_LOWER_UP,
  IFF_UP,
} from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';

export function pad4(buf: Buffer): Buffer {
  const extra = (4 - (buf.length % 4)) % 4;
  return extra === 0 ? buf : Buffer.concat([buf, Buffer.alloc(extra)]);
}

export interface HeaderFields {
  type: number;
  flags?: number;
  seq?: number;
  pid?: number;
  /** nlmsg_len as written; defaults to 16 + payload length. */
  len?: number;
}

/** A netlink message: nlmsghdr + payload, padded to 4 bytes (unless pad is false). */
export function nlmsg(fields: HeaderFields, payload: Buffer = Buffer.alloc(0), pad = true): Buffer {
  const header = Buffer.alloc(NLMSG_HDRLEN);
  header.writeUInt32LE(fields.len ?? NLMSG_HDRLEN + payload.length, 0);
  header.writeUInt16LE(fields.type, 4);
  header.writeUInt16LE(fields.flags ?? 0, 6);
  header.writeUInt32LE(fields.seq ?? 0, 8);
  header.writeUInt32LE(fields.pid ?? 0, 12);
  const msg = Buffer.concat([header, payload]);
  return pad ? pad4(msg) : msg;
}

export interface IfinfoFields {
  family?: number;
  type?: number;
  index: number;
  flags?: number;
  change?: number;
}

/** struct ifinfomsg (16 bytes). */
export function ifinfomsg(fields: IfinfoFields): Buffer {
  const buf = Buffer.alloc(16);
  buf.writeUInt8(fields.family ?? 0, 0);
  buf.writeUInt16LE(fields.type ?? 1, 2);
  buf.writeInt32LE(fields.index, 4);
  buf.writeUInt32LE(fields.flags ?? 0, 8);
  buf.writeUInt32LE(fields.change ?? 0, 12);
  return buf;
}

/** An rtattr: header, data, padding to 4 (unless pad is false). `len` overrides rta_len. */
export function rtattr(type: number, data: Buffer, opts: { len?: number; pad?: boolean } = {}): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16LE(opts.len ?? 4 + data.length, 0);
  header.writeUInt16LE(type, 2);
  const attr = Buffer.concat([header, data]);
  return opts.pad === false ? attr : pad4(attr);
}

export function u8Attr(type: number, value: number): Buffer {
  return rtattr(type, Buffer.from([value]));
}

export function u32Attr(type: number, value: number): Buffer {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(value, 0);
  return rtattr(type, data);
}

export function s32Attr(type: number, value: number): Buffer {
  const data = Buffer.alloc(4);
  data.writeInt32LE(value, 0);
  return rtattr(type, data);
}

/** A string attribute as nla_put_string sends it: UTF-8 then one NUL. */
export function stringAttr(type: number, value: string): Buffer {
  return rtattr(type, Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)]));
}

/** A nested attribute holding already-built attributes. */
export function nestedAttr(type: number, children: Buffer[]): Buffer {
  return rtattr(type, Buffer.concat(children));
}

/** "02:00:5e:10:00:01" → bytes. */
export function addressBytes(address: string): Buffer {
  return address === '' ? Buffer.alloc(0) : Buffer.from(address.split(':').map((h) => parseInt(h, 16)));
}

/**
 * The attributes the kernel would send for a link, one Buffer each, in the kernel's order.
 * `nestedFlag` sets NLA_F_NESTED on IFLA_LINKINFO (the kernel does not; newer senders might).
 */
export function linkAttributes(link: LinkMessage, opts: { nestedFlag?: boolean } = {}): Buffer[] {
  const parts: Buffer[] = [];
  if (link.ifname !== undefined) parts.push(stringAttr(IFLA_IFNAME, link.ifname));
  if (link.mtu !== undefined) parts.push(u32Attr(IFLA_MTU, link.mtu));
  if (link.master !== undefined) parts.push(u32Attr(IFLA_MASTER, link.master));
  if (link.operstate !== undefined) parts.push(u8Attr(IFLA_OPERSTATE, link.operstate));
  // A bridge port's state: in IFLA_PROTINFO (nested, NLA_F_NESTED as br_fill_ifinfo sends it) for
  // AF_BRIDGE, in IFLA_LINKINFO's slave data (slave kind "bridge") for AF_UNSPEC; beside it the
  // other IFLA_BRPORT_* the kernel sends (IFLA_BRPORT_PRIORITY u16, IFLA_BRPORT_COST u32).
  const brport =
    link.bridgePortState === undefined
      ? undefined
      : [u8Attr(IFLA_BRPORT_STATE, link.bridgePortState), rtattr(2, Buffer.from([0x20, 0])), u32Attr(3, 2)];
  const slave = brport !== undefined && link.family !== 7;
  if (link.infoKind !== undefined || slave) {
    const type = IFLA_LINKINFO | (opts.nestedFlag === true ? NLA_F_NESTED : 0);
    const info: Buffer[] = [];
    if (link.infoKind !== undefined) info.push(stringAttr(IFLA_INFO_KIND, link.infoKind));
    if (slave) info.push(stringAttr(IFLA_INFO_SLAVE_KIND, 'bridge'), nestedAttr(IFLA_INFO_SLAVE_DATA | NLA_F_NESTED, brport));
    parts.push(nestedAttr(type, info));
  }
  if (brport !== undefined && link.family === 7) parts.push(nestedAttr(IFLA_PROTINFO | NLA_F_NESTED, brport));
  if (link.ifalias !== undefined) parts.push(stringAttr(IFLA_IFALIAS, link.ifalias));
  if (link.carrier !== undefined) parts.push(u8Attr(IFLA_CARRIER, link.carrier));
  if (link.carrierChanges !== undefined) parts.push(u32Attr(IFLA_CARRIER_CHANGES, link.carrierChanges));
  if (link.address !== undefined) parts.push(rtattr(IFLA_ADDRESS, addressBytes(link.address)));
  if (link.carrierUpCount !== undefined) parts.push(u32Attr(IFLA_CARRIER_UP_COUNT, link.carrierUpCount));
  if (link.carrierDownCount !== undefined) {
    parts.push(u32Attr(IFLA_CARRIER_DOWN_COUNT, link.carrierDownCount));
  }
  // rtnl_fill_proto_down: IFLA_PROTO_DOWN, then the reason nest (NLA_F_NESTED) with VALUE only.
  if (link.protoDown !== undefined) parts.push(u8Attr(IFLA_PROTO_DOWN, link.protoDown));
  if (link.protoDownReason !== undefined) {
    parts.push(nestedAttr(IFLA_PROTO_DOWN_REASON | NLA_F_NESTED, [u32Attr(IFLA_PROTO_DOWN_REASON_VALUE, link.protoDownReason)]));
  }
  if (link.iflink !== undefined) parts.push(u32Attr(IFLA_LINK, link.iflink));
  if (link.linkNetnsid !== undefined) parts.push(s32Attr(IFLA_LINK_NETNSID, link.linkNetnsid));
  if (link.parentDevice !== undefined) parts.push(stringAttr(IFLA_PARENT_DEV_NAME, link.parentDevice));
  if (link.parentBus !== undefined) parts.push(stringAttr(IFLA_PARENT_DEV_BUS_NAME, link.parentBus));
  return parts;
}

/** The ifinfomsg of a link. */
export function linkIfinfomsg(link: LinkMessage): Buffer {
  return ifinfomsg({ family: link.family, type: link.linkType, index: link.ifindex, flags: link.flags, change: link.change });
}

/** An RTM_NEWLINK/RTM_DELLINK payload (ifinfomsg + attributes) for a link. */
export function linkPayload(link: LinkMessage, extraAttrs: Buffer[] = []): Buffer {
  return Buffer.concat([linkIfinfomsg(link), ...linkAttributes(link), ...extraAttrs]);
}

/** nlmsg_type of a link's message: RTM_NEWLINK or RTM_DELLINK. */
export function linkMessageType(link: LinkMessage): number {
  return link.kind === 'new' ? RTM_NEWLINK : RTM_DELLINK;
}

/** A whole RTM_NEWLINK/RTM_DELLINK message for a link. */
export function linkMessageBytes(
  link: LinkMessage,
  header: Omit<HeaderFields, 'type'> = {},
  extraAttrs: Buffer[] = [],
): Buffer {
  return nlmsg({ ...header, type: linkMessageType(link) }, linkPayload(link, extraAttrs));
}

/** NLMSG_DONE with its s32 status, as ending a dump. */
export function doneMessage(status = 0, seq = 0): Buffer {
  const data = Buffer.alloc(4);
  data.writeInt32LE(status, 0);
  return nlmsg({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq }, data);
}

/** NLMSG_ERROR: s32 error, then the request's header (unless requestHeader is null). */
export function errorMessage(error: number, requestHeader: Buffer | null): Buffer {
  const data = Buffer.alloc(4);
  data.writeInt32LE(error, 0);
  return nlmsg({ type: NLMSG_ERROR }, requestHeader === null ? data : Buffer.concat([data, requestHeader]));
}

/** A LinkMessage with every key present (absent attributes undefined), as decodeLink returns. */
export function fullLink(fields: Partial<LinkMessage> & Pick<LinkMessage, 'ifindex'>): LinkMessage {
  return {
    kind: 'new',
    family: 0,
    flags: 0,
    change: 0,
    linkType: 1,
    ifname: undefined,
    operstate: undefined,
    carrier: undefined,
    carrierChanges: undefined,
    carrierUpCount: undefined,
    carrierDownCount: undefined,
    mtu: undefined,
    address: undefined,
    ifalias: undefined,
    master: undefined,
    infoKind: undefined,
    bridgePortState: undefined,
    iflink: undefined,
    linkNetnsid: undefined,
    protoDown: undefined,
    protoDownReason: undefined,
    parentDevice: undefined,
    parentBus: undefined,
    ...fields,
  };
}

/** A decoded veth that is up with carrier and the kernel's counters, as tests start from; override what a case needs. */
export function vethLink(ifindex: number, over: Partial<LinkMessage> = {}): LinkMessage {
  return fullLink({
    ifindex,
    ifname: `veth${ifindex}`,
    flags: IFF_UP | IFF_LOWER_UP,
    carrier: 1,
    operstate: 6,
    carrierChanges: 2,
    carrierUpCount: 1,
    carrierDownCount: 1,
    mtu: 1500,
    address: '02:00:00:00:00:01',
    infoKind: 'veth',
    ...over,
  });
}
