// ETHTOOL_MSG_LINKSTATE_GET for one device and its reply (ETHTOOL_MSG_LINKSTATE_GET_REPLY):
// link detected, signal quality (SQI) and the extended state — why the link is down.
//
// Attribute sizes are the kernel's (linkstate_fill_reply, net/ethtool/linkstate.c): LINK u8,
// SQI and SQI_MAX u32 (sent together, only when the PHY measures them), EXT_STATE u8 (only when
// the driver implements get_link_ext_state and the device is up), EXT_SUBSTATE u8 (only when
// non-zero), EXT_DOWN_CNT u32 (Linux >= 6.2: only when the request carried ETHTOOL_FLAG_STATS and
// the PHY or driver counts link-down events). The kernel sends no LINKSTATE notification: ask
// again after every carrier change.

import type { NetlinkMessage } from '../netlink/types.js';
import {
  ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT,
  ETHTOOL_A_LINKSTATE_EXT_STATE,
  ETHTOOL_A_LINKSTATE_EXT_SUBSTATE,
  ETHTOOL_A_LINKSTATE_HEADER,
  ETHTOOL_A_LINKSTATE_LINK,
  ETHTOOL_A_LINKSTATE_SQI,
  ETHTOOL_A_LINKSTATE_SQI_MAX,
  ETHTOOL_FLAG_STATS,
  ETHTOOL_MSG_LINKSTATE_GET,
  ETHTOOL_MSG_LINKSTATE_GET_REPLY,
  LINK_EXT_STATE_NAMES,
  LINK_EXT_SUBSTATE_NAMES,
} from './constants.js';
import { encodeDeviceGetRequest, walkDeviceMessage } from './header.js';
import type { LinkState } from './types.js';

// 'unknown_<n>' for every u8, built once: the decoder allocates no strings for names.
const UNKNOWN: readonly string[] = Array.from({ length: 256 }, (_, n) => `unknown_${n}`);

/** The name of ext_state `value` ('no_cable'), or 'unknown_<value>'. */
export function linkExtStateName(value: number): string {
  return LINK_EXT_STATE_NAMES[value] ?? UNKNOWN[value] ?? `unknown_${value}`;
}

/** The name of ext_substate `substate` of ext_state `state`, or 'unknown_<substate>'. */
export function linkExtSubstateName(state: number | undefined, substate: number): string {
  const names = state === undefined ? undefined : LINK_EXT_SUBSTATE_NAMES.get(state);
  return names?.[substate - 1] ?? UNKNOWN[substate] ?? `unknown_${substate}`;
}

/**
 * ETHTOOL_MSG_LINKSTATE_GET for `ifindex` (a positive s32). `flags` default ETHTOOL_FLAG_STATS,
 * which asks for EXT_DOWN_CNT (kernels before 6.2 refuse the flag on LINKSTATE with -EINVAL:
 * ask again with 0). Answered by ETHTOOL_MSG_LINKSTATE_GET_REPLY with the same seq, or
 * NLMSG_ERROR (-ENODEV, -EOPNOTSUPP).
 */
export function encodeLinkStateRequest(familyId: number, seq: number, ifindex: number, flags = ETHTOOL_FLAG_STATS): Buffer {
  return encodeDeviceGetRequest(familyId, ETHTOOL_MSG_LINKSTATE_GET, ETHTOOL_A_LINKSTATE_HEADER, seq, ifindex, flags);
}

const LINKSTATE_CMDS = [ETHTOOL_MSG_LINKSTATE_GET_REPLY] as const;

/**
 * Decode an ethtool LINKSTATE reply. The caller has checked that nlmsg_type is the ethtool
 * family's id. Throws NetlinkDecodeError: 'unexpected_type' for another genl command,
 * 'short_genlmsghdr', 'missing_attribute' without a header DEV_INDEX, and the attribute
 * reader's reasons (e.g. an SQI of 2 bytes is 'bad_attribute_size'). Unknown ext_state or
 * substate numbers are names ('unknown_17'), not errors.
 */
export function decodeLinkState(msg: NetlinkMessage): LinkState {
  // The attributes as read; the ext state numbers are named once all are in (a substate's name
  // depends on its state, whichever came first).
  const got: { link?: boolean; sqi?: number; sqiMax?: number; extState?: number; extSubstate?: number; linkDownEvents?: number } = {};
  const device = walkDeviceMessage(msg, LINKSTATE_CMDS, 'LINKSTATE reply', ETHTOOL_A_LINKSTATE_HEADER, (a) => {
    switch (a.type) {
      case ETHTOOL_A_LINKSTATE_LINK:
        got.link = a.u8() !== 0;
        break;
      case ETHTOOL_A_LINKSTATE_SQI:
        got.sqi = a.u32();
        break;
      case ETHTOOL_A_LINKSTATE_SQI_MAX:
        got.sqiMax = a.u32();
        break;
      case ETHTOOL_A_LINKSTATE_EXT_STATE:
        got.extState = a.u8();
        break;
      case ETHTOOL_A_LINKSTATE_EXT_SUBSTATE:
        got.extSubstate = a.u8();
        break;
      case ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT:
        got.linkDownEvents = a.u32();
        break;
      default:
        break;
    }
  });
  const { extState, extSubstate } = got;
  return {
    ...device,
    link: got.link,
    sqi: got.sqi,
    sqiMax: got.sqiMax,
    extState: extState === undefined ? undefined : linkExtStateName(extState),
    extSubstate: extSubstate === undefined ? undefined : linkExtSubstateName(extState, extSubstate),
    linkDownEvents: got.linkDownEvents,
  };
}
