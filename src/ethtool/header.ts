// The request/reply header every ethtool netlink message carries as its first nest
// (ETHTOOL_A_*_HEADER, type 1 in every message): ETHTOOL_A_HEADER_DEV_INDEX u32,
// ETHTOOL_A_HEADER_DEV_NAME string, ETHTOOL_A_HEADER_FLAGS u32 (requests), and since Linux 6.12
// ETHTOOL_A_HEADER_PHY_INDEX u32. Replies and notifications name the device by index and name.

import { NetlinkDecodeError } from '../netlink/errors.js';
import { AttributeReader } from '../netlink/attributes.js';
import { NLA_F_NESTED, NLMSG_HDRLEN, RTA_HDRLEN } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/types.js';
import { decodeGenlHeader, genlAttributes, writeGenlRequestHeader } from './genl.js';
import {
  ETHTOOL_A_HEADER_DEV_INDEX,
  ETHTOOL_A_HEADER_DEV_NAME,
  ETHTOOL_A_HEADER_FLAGS,
  ETHTOOL_GENL_VERSION,
  GENL_HDRLEN,
} from './constants.js';

/** The device a reply or notification is about. */
export interface DeviceHeader {
  ifindex: number | undefined;
  ifname: string | undefined;
}

const header = new AttributeReader();
const body = new AttributeReader();

/**
 * Read the header nest `a` is positioned on into `out`. Throws the attribute reader's errors
 * (a DEV_INDEX that is not 4 bytes, a DEV_NAME without NUL, an overrun). Unknown attributes
 * (PHY_INDEX, FLAGS) are skipped.
 */
export function readDeviceHeader(a: AttributeReader, out: DeviceHeader): void {
  try {
    const h = a.nested(header);
    while (h.next()) {
      if (h.type === ETHTOOL_A_HEADER_DEV_INDEX) out.ifindex = h.u32();
      else if (h.type === ETHTOOL_A_HEADER_DEV_NAME) out.ifname = h.string();
    }
  } finally {
    header.release();
  }
}

/** The ifindex a message must carry: 'missing_attribute' when its header (or DEV_INDEX) was absent. */
export function requireIfindex(out: DeviceHeader, offset: number, what: string): number {
  if (out.ifindex === undefined) {
    throw new NetlinkDecodeError('missing_attribute', offset, `${what} without ETHTOOL_A_HEADER_DEV_INDEX`);
  }
  return out.ifindex;
}

/**
 * Walk an ethtool reply or notification about one device: its genl command must be one of `cmds`
 * ('unexpected_type' otherwise), the header nest (attribute type `headerType`) names the device,
 * which must carry DEV_INDEX ('missing_attribute'), and every other attribute goes to `visit`.
 * Every attribute is walked, so a malformed message fails the same way in every decoder.
 */
export function walkDeviceMessage(
  msg: NetlinkMessage,
  cmds: readonly number[],
  what: string,
  headerType: number,
  visit: (a: AttributeReader) => void,
): { ifindex: number; ifname: string | undefined } {
  const { cmd } = decodeGenlHeader(msg);
  if (!cmds.includes(cmd)) throw new NetlinkDecodeError('unexpected_type', msg.offset, `genl cmd ${cmd} is not a ${what}`);
  const device: DeviceHeader = { ifindex: undefined, ifname: undefined };
  try {
    const a = genlAttributes(msg, body);
    while (a.next()) {
      if (a.type === headerType) readDeviceHeader(a, device);
      else visit(a);
    }
  } finally {
    body.release();
  }
  return { ifindex: requireIfindex(device, msg.offset, what), ifname: device.ifname };
}

/**
 * An ethtool GET request for one device: genl `cmd` to `familyId`, with the header nest
 * (attribute type `headerType`, NLA_F_NESTED) holding DEV_INDEX `ifindex` and, when non-zero,
 * FLAGS `flags`. One allocation, every byte written (the exporter sends one per link per change).
 * `ifindex` must be a positive s32 and `flags` a u32 (RangeError otherwise: a caller bug).
 */
export function encodeDeviceGetRequest(
  familyId: number,
  cmd: number,
  headerType: number,
  seq: number,
  ifindex: number,
  flags: number,
): Buffer {
  if (!Number.isInteger(ifindex) || ifindex < 1 || ifindex > 0x7fffffff) {
    throw new RangeError(`ifindex ${ifindex} is not a positive s32`);
  }
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    throw new RangeError(`ethtool header flags ${flags} are not a u32`);
  }
  // nlmsghdr (16) + genlmsghdr (4) + nlattr header (4) + DEV_INDEX (8) [+ FLAGS (8)]
  const nest = NLMSG_HDRLEN + GENL_HDRLEN;
  const nestLength = RTA_HDRLEN + 8 + (flags === 0 ? 0 : 8);
  const buf = Buffer.allocUnsafe(nest + nestLength);
  writeGenlRequestHeader(buf, familyId, cmd, ETHTOOL_GENL_VERSION, seq);
  buf.writeUInt16LE(nestLength, nest);
  buf.writeUInt16LE(headerType | NLA_F_NESTED, nest + 2);
  buf.writeUInt16LE(8, nest + 4);
  buf.writeUInt16LE(ETHTOOL_A_HEADER_DEV_INDEX, nest + 6);
  buf.writeUInt32LE(ifindex, nest + 8);
  if (flags !== 0) {
    buf.writeUInt16LE(8, nest + 12);
    buf.writeUInt16LE(ETHTOOL_A_HEADER_FLAGS, nest + 14);
    buf.writeUInt32LE(flags, nest + 16);
  }
  return buf;
}
