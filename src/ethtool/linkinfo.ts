// ETHTOOL_MSG_LINKINFO_NTF (and _GET_REPLY): port, PHY address, MDI-X, transceiver of a device.
// The exporter only needs to know which device it is about — a LINKINFO change is a reason to
// ask for LINKMODES and LINKSTATE again — so only the header is decoded.

import type { NetlinkMessage } from '../netlink/types.js';
import { ETHTOOL_A_LINKINFO_HEADER, ETHTOOL_MSG_LINKINFO_GET_REPLY, ETHTOOL_MSG_LINKINFO_NTF } from './constants.js';
import { walkDeviceMessage } from './header.js';
import type { LinkInfo } from './types.js';

const LINKINFO_CMDS = [ETHTOOL_MSG_LINKINFO_NTF, ETHTOOL_MSG_LINKINFO_GET_REPLY] as const;
/** Only the header is wanted; the other attributes are walked (and so checked) and ignored. */
const ignore = (): void => {};

/**
 * Decode an ethtool LINKINFO notification or reply to the device it is about. Throws
 * NetlinkDecodeError: 'unexpected_type' for another genl command, 'short_genlmsghdr',
 * 'missing_attribute' without a header DEV_INDEX, and the attribute reader's reasons.
 */
export function decodeLinkInfo(msg: NetlinkMessage): LinkInfo {
  return walkDeviceMessage(msg, LINKINFO_CMDS, 'LINKINFO notification or reply', ETHTOOL_A_LINKINFO_HEADER, ignore);
}
