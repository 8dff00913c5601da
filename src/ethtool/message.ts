// One entry point for the messages of the ethtool family: replies to our GET requests and the
// notifications of the "monitor" multicast group, dispatched on the genl command.

import { NetlinkDecodeError } from '../netlink/errors.js';
import type { NetlinkMessage } from '../netlink/types.js';
import {
  ETHTOOL_MSG_LINKINFO_GET_REPLY,
  ETHTOOL_MSG_LINKINFO_NTF,
  ETHTOOL_MSG_LINKMODES_GET_REPLY,
  ETHTOOL_MSG_LINKMODES_NTF,
  ETHTOOL_MSG_LINKSTATE_GET_REPLY,
} from './constants.js';
import { decodeGenlHeader } from './genl.js';
import { decodeLinkInfo } from './linkinfo.js';
import { decodeLinkModes } from './linkmodes.js';
import { decodeLinkState } from './linkstate.js';
import type { EthtoolMessage } from './types.js';

/**
 * Decode one message of the ethtool family (nlmsg_type `familyId`, from decodeFamily). LINKMODES
 * replies and notifications, LINKSTATE replies and LINKINFO notifications and replies are
 * decoded; any other command — the monitor group also announces features, rings, channels,
 * ... — is { kind: 'other', cmd } without looking further. NLMSG_ERROR / NLMSG_DONE are the
 * caller's (src/netlink/message.ts). Throws NetlinkDecodeError: 'unexpected_type' when
 * nlmsg_type is not `familyId`, and whatever the message's decoder throws.
 */
export function decodeEthtoolMessage(msg: NetlinkMessage, familyId: number): EthtoolMessage {
  if (msg.type !== familyId) {
    throw new NetlinkDecodeError('unexpected_type', msg.offset, `nlmsg_type ${msg.type} is not the ethtool family ${familyId}`);
  }
  const { cmd } = decodeGenlHeader(msg);
  switch (cmd) {
    case ETHTOOL_MSG_LINKMODES_GET_REPLY:
    case ETHTOOL_MSG_LINKMODES_NTF:
      return { kind: 'linkmodes', notification: cmd === ETHTOOL_MSG_LINKMODES_NTF, linkModes: decodeLinkModes(msg) };
    case ETHTOOL_MSG_LINKSTATE_GET_REPLY:
      return { kind: 'linkstate', linkState: decodeLinkState(msg) };
    case ETHTOOL_MSG_LINKINFO_GET_REPLY:
    case ETHTOOL_MSG_LINKINFO_NTF:
      return { kind: 'linkinfo', notification: cmd === ETHTOOL_MSG_LINKINFO_NTF, linkInfo: decodeLinkInfo(msg) };
    default:
      return { kind: 'other', cmd };
  }
}
