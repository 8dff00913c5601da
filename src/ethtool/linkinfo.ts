// ETHTOOL_MSG_LINKINFO_NTF (and _GET_REPLY): port, PHY address, MDI-X, transceiver of a device.
// The exporter only needs to know which device it is about — a LINKINFO change is a reason to
// ask for LINKMODES and LINKSTATE again — so only the header is decoded.

import { NetlinkDecodeError } from '../netlink/errors.js';
import { AttributeReader } from '../netlink/attributes.js';
import type { NetlinkMessage } from '../netlink/types.js';
import { ETHTOOL_A_LINKINFO_HEADER, ETHTOOL_MSG_LINKINFO_GET_REPLY, ETHTOOL_MSG_LINKINFO_NTF } from './constants.js';
import { decodeGenlHeader, genlAttributes } from './genl.js';
import { readDeviceHeader, requireIfindex, type DeviceHeader } from './header.js';
import type { LinkInfo } from './types.js';

const attrs = new AttributeReader();

/**
 * Decode an ethtool LINKINFO notification or reply to the device it is about. Throws
 * NetlinkDecodeError: 'unexpected_type' for another genl command, 'short_genlmsghdr',
 * 'missing_attribute' without a header DEV_INDEX, and the attribute reader's reasons.
 */
export function decodeLinkInfo(msg: NetlinkMessage): LinkInfo {
  const { cmd } = decodeGenlHeader(msg);
  if (cmd !== ETHTOOL_MSG_LINKINFO_NTF && cmd !== ETHTOOL_MSG_LINKINFO_GET_REPLY) {
    throw new NetlinkDecodeError('unexpected_type', msg.offset, `genl cmd ${cmd} is not a LINKINFO notification or reply`);
  }
  const device: DeviceHeader = { ifindex: undefined, ifname: undefined };
  try {
    const a = genlAttributes(msg, attrs);
    // Every attribute is walked (not just up to the header) so that a malformed message fails
    // here as it would in the other decoders.
    while (a.next()) {
      if (a.type === ETHTOOL_A_LINKINFO_HEADER) readDeviceHeader(a, device);
    }
  } finally {
    attrs.release();
  }
  return { ifindex: requireIfindex(device, msg.offset, 'LINKINFO message'), ifname: device.ifname };
}
