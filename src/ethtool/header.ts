// The request/reply header every ethtool netlink message carries as its first nest
// (ETHTOOL_A_*_HEADER, type 1 in every message): ETHTOOL_A_HEADER_DEV_INDEX u32,
// ETHTOOL_A_HEADER_DEV_NAME string, ETHTOOL_A_HEADER_FLAGS u32 (requests), and since Linux 6.12
// ETHTOOL_A_HEADER_PHY_INDEX u32. Replies and notifications name the device by index and name.

import { NetlinkDecodeError } from '../errors.js';
import { AttributeReader } from '../netlink/attributes.js';
import { encodeGenlRequest, encodeNestedAttribute, encodeU32Attribute } from './genl.js';
import {
  ETHTOOL_A_HEADER_DEV_INDEX,
  ETHTOOL_A_HEADER_DEV_NAME,
  ETHTOOL_A_HEADER_FLAGS,
  ETHTOOL_GENL_VERSION,
} from './constants.js';

/** The device a reply or notification is about. */
export interface DeviceHeader {
  ifindex: number | undefined;
  ifname: string | undefined;
}

const header = new AttributeReader();

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
 * An ethtool GET request for one device: genl `cmd` to `familyId`, with the header nest
 * (attribute type `headerType`) holding DEV_INDEX `ifindex` and, when non-zero, FLAGS `flags`.
 * `ifindex` must be a positive s32 (RangeError otherwise: a caller bug).
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
  const children = [encodeU32Attribute(ETHTOOL_A_HEADER_DEV_INDEX, ifindex)];
  if (flags !== 0) children.push(encodeU32Attribute(ETHTOOL_A_HEADER_FLAGS, flags));
  return encodeGenlRequest(familyId, cmd, ETHTOOL_GENL_VERSION, seq, encodeNestedAttribute(headerType, children));
}
