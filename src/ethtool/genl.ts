// Generic netlink framing (struct genlmsghdr after the nlmsghdr) and the controller exchange that
// resolves a family by name: CTRL_CMD_GETFAMILY -> CTRL_CMD_NEWFAMILY { id, version, groups }.
//
// Pure: requests are built into Buffers and replies are decoded from NetlinkMessages that
// src/netlink/message.ts walked out of a datagram. The socket (NETLINK_GENERIC) is elsewhere.
// Layout from include/uapi/linux/genetlink.h; sizes from the kernel's ctrl_fill_info()
// (net/netlink/genetlink.c): CTRL_ATTR_FAMILY_ID is a u16 (nla_put_u16), VERSION, HDRSIZE,
// MAXATTR and CTRL_ATTR_MCAST_GRP_ID are u32, names are NUL-terminated strings, and
// CTRL_ATTR_MCAST_GROUPS nests one attribute per group (types 1..n) holding a NAME and an ID.

import { NetlinkDecodeError } from '../netlink/errors.js';
import { AttributeReader, rtaAlign } from '../netlink/attributes.js';
import { NLMSG_HDRLEN, NLM_F_REQUEST, RTA_HDRLEN } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/types.js';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_HDRSIZE,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  CTRL_CMD_NEWFAMILY,
  CTRL_VERSION,
  ETHTOOL_GENL_NAME,
  GENL_HDRLEN,
  GENL_ID_CTRL,
  GENL_NAMSIZ,
} from './constants.js';
import type { GenlFamily, GenlHeader, GenlMulticastGroup } from './types.js';

// One reader per nesting level, reused (the decoders are synchronous).
const top = new AttributeReader();
const groupList = new AttributeReader();
const group = new AttributeReader();

function checkU32(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what} ${value} is not a u32`);
  }
}

/**
 * Write the nlmsghdr (nlmsg_len = buf.length, type `familyId`, NLM_F_REQUEST | `extraFlags`,
 * `seq`, pid 0) and genlmsghdr (`cmd`, `version`) of a request into buf[0, 20). Caller bugs (a
 * seq that is not a u32, a family id outside 16..0xffff) throw RangeError.
 */
export function writeGenlRequestHeader(
  buf: Buffer,
  familyId: number,
  cmd: number,
  version: number,
  seq: number,
  extraFlags = 0,
): void {
  checkU32('netlink sequence number', seq);
  if (!Number.isInteger(familyId) || familyId < GENL_ID_CTRL || familyId > 0xffff) {
    throw new RangeError(`generic netlink family id ${familyId} is not in [16, 65535]`);
  }
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt16LE(familyId, 4);
  buf.writeUInt16LE(NLM_F_REQUEST | extraFlags, 6);
  buf.writeUInt32LE(seq, 8);
  buf.writeUInt32LE(0, 12);
  buf.writeUInt8(cmd, NLMSG_HDRLEN);
  buf.writeUInt8(version, NLMSG_HDRLEN + 1);
  buf.writeUInt16LE(0, NLMSG_HDRLEN + 2); // reserved
}

/**
 * A generic netlink request: nlmsghdr + genlmsghdr (see writeGenlRequestHeader) + `attributes`
 * (already aligned attribute bytes).
 */
export function encodeGenlRequest(
  familyId: number,
  cmd: number,
  version: number,
  seq: number,
  attributes: Buffer,
  extraFlags = 0,
): Buffer {
  const buf = Buffer.alloc(NLMSG_HDRLEN + GENL_HDRLEN + attributes.length);
  writeGenlRequestHeader(buf, familyId, cmd, version, seq, extraFlags);
  attributes.copy(buf, NLMSG_HDRLEN + GENL_HDRLEN);
  return buf;
}

/** One attribute (header + payload + padding to 4) as bytes. */
export function encodeAttribute(type: number, payload: Buffer): Buffer {
  const len = RTA_HDRLEN + payload.length;
  const buf = Buffer.alloc(rtaAlign(len));
  buf.writeUInt16LE(len, 0);
  buf.writeUInt16LE(type, 2);
  payload.copy(buf, RTA_HDRLEN);
  return buf;
}

/**
 * CTRL_CMD_GETFAMILY for one family by name (default "ethtool"), to GENL_ID_CTRL. The kernel
 * answers CTRL_CMD_NEWFAMILY (decodeFamily) or NLMSG_ERROR -ENOENT when no such family is
 * registered (old kernel, CONFIG_ETHTOOL_NETLINK off).
 */
export function encodeGetFamilyRequest(seq: number, name: string = ETHTOOL_GENL_NAME): Buffer {
  const bytes = Buffer.from(`${name}\0`, 'utf8');
  if (bytes.length > GENL_NAMSIZ || name.includes('\0') || name.length === 0) {
    throw new RangeError(`generic netlink family name ${JSON.stringify(name)} is not 1 to ${GENL_NAMSIZ - 1} bytes`);
  }
  return encodeGenlRequest(
    GENL_ID_CTRL,
    CTRL_CMD_GETFAMILY,
    CTRL_VERSION,
    seq,
    encodeAttribute(CTRL_ATTR_FAMILY_NAME, bytes),
  );
}

/**
 * The genlmsghdr of a generic netlink message. A payload shorter than 4 bytes is
 * 'short_genlmsghdr'. Attributes start at payload offset GENL_HDRLEN.
 */
export function decodeGenlHeader(msg: NetlinkMessage): GenlHeader {
  const payload = msg.payload;
  if (payload.length < GENL_HDRLEN) {
    throw new NetlinkDecodeError(
      'short_genlmsghdr',
      msg.offset + NLMSG_HDRLEN,
      `payload of ${payload.length} bytes, need ${GENL_HDRLEN} for genlmsghdr`,
    );
  }
  return { cmd: payload[0] as number, version: payload[1] as number };
}

/**
 * Point `reader` at the attributes of a generic netlink message (after its genlmsghdr), with
 * datagram offsets. Checks the genlmsghdr length; returns the reader.
 */
export function genlAttributes(msg: NetlinkMessage, reader: AttributeReader): AttributeReader {
  decodeGenlHeader(msg);
  return reader.init(msg.payload, GENL_HDRLEN, msg.payload.length, msg.offset + NLMSG_HDRLEN);
}

/**
 * Decode a CTRL_CMD_NEWFAMILY (the reply to CTRL_CMD_GETFAMILY, also sent on nlctrl's "notify"
 * group when a family registers). Throws NetlinkDecodeError: 'unexpected_type' for a message
 * not from GENL_ID_CTRL or another command, 'short_genlmsghdr', 'missing_attribute' without
 * CTRL_ATTR_FAMILY_ID, 'missing_attribute' for a multicast group without its name or id, and the
 * attribute reader's errors. Unknown attributes (OPS, POLICY, ...) are skipped.
 */
export function decodeFamily(msg: NetlinkMessage): GenlFamily {
  if (msg.type !== GENL_ID_CTRL) {
    throw new NetlinkDecodeError('unexpected_type', msg.offset, `nlmsg_type ${msg.type} is not GENL_ID_CTRL`);
  }
  const { cmd } = decodeGenlHeader(msg);
  if (cmd !== CTRL_CMD_NEWFAMILY) {
    throw new NetlinkDecodeError('unexpected_type', msg.offset, `genl cmd ${cmd} is not CTRL_CMD_NEWFAMILY`);
  }
  let familyId: number | undefined;
  let name: string | undefined;
  let version: number | undefined;
  let hdrSize: number | undefined;
  let maxAttr: number | undefined;
  const multicastGroups: GenlMulticastGroup[] = [];
  try {
    const a = genlAttributes(msg, top);
    while (a.next()) {
      switch (a.type) {
        case CTRL_ATTR_FAMILY_ID:
          familyId = a.u16();
          break;
        case CTRL_ATTR_FAMILY_NAME:
          name = a.string();
          break;
        case CTRL_ATTR_VERSION:
          version = a.u32();
          break;
        case CTRL_ATTR_HDRSIZE:
          hdrSize = a.u32();
          break;
        case CTRL_ATTR_MAXATTR:
          maxAttr = a.u32();
          break;
        case CTRL_ATTR_MCAST_GROUPS: {
          const list = a.nested(groupList);
          while (list.next()) {
            const entryOffset = list.offset;
            let groupName: string | undefined;
            let groupId: number | undefined;
            const g = list.nested(group);
            while (g.next()) {
              if (g.type === CTRL_ATTR_MCAST_GRP_NAME) groupName = g.string();
              else if (g.type === CTRL_ATTR_MCAST_GRP_ID) groupId = g.u32();
            }
            if (groupName === undefined || groupId === undefined) {
              throw new NetlinkDecodeError(
                'missing_attribute',
                entryOffset,
                `multicast group without ${groupName === undefined ? 'CTRL_ATTR_MCAST_GRP_NAME' : 'CTRL_ATTR_MCAST_GRP_ID'}`,
                CTRL_ATTR_MCAST_GROUPS,
              );
            }
            multicastGroups.push({ name: groupName, id: groupId });
          }
          break;
        }
        default:
          break;
      }
    }
  } finally {
    top.release();
    groupList.release();
    group.release();
  }
  if (familyId === undefined) {
    throw new NetlinkDecodeError('missing_attribute', msg.offset, 'CTRL_CMD_NEWFAMILY without CTRL_ATTR_FAMILY_ID');
  }
  return { familyId, name, version, hdrSize, maxAttr, multicastGroups };
}

/** The id of the family's multicast group called `name` ("monitor"), or undefined. */
export function multicastGroupId(family: GenlFamily, name: string): number | undefined {
  for (const g of family.multicastGroups) if (g.name === name) return g.id;
  return undefined;
}
