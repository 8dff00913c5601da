// ETHTOOL_MSG_LINKMODES_GET for one device, and its reply / notification
// (ETHTOOL_MSG_LINKMODES_GET_REPLY, ETHTOOL_MSG_LINKMODES_NTF) decoded to speed, duplex,
// autonegotiation and the fastest advertised and supported link modes.
//
// Attribute sizes are the kernel's (linkmodes_fill_reply, net/ethtool/linkmodes.c):
// AUTONEG u8, SPEED u32, DUPLEX u8, OURS a bitset whose value is the advertised modes and whose
// mask the supported ones, PEER a list bitset (the partner's modes; not decoded). Any other size
// is a decode error, never 0. Unknown attributes are skipped.

import type { NetlinkMessage } from '../netlink/types.js';
import { walkBitset } from './bitset.js';
import {
  DUPLEX_FULL,
  DUPLEX_HALF,
  ETHTOOL_A_LINKMODES_AUTONEG,
  ETHTOOL_A_LINKMODES_DUPLEX,
  ETHTOOL_A_LINKMODES_HEADER,
  ETHTOOL_A_LINKMODES_OURS,
  ETHTOOL_A_LINKMODES_SPEED,
  ETHTOOL_FLAG_COMPACT_BITSETS,
  ETHTOOL_MSG_LINKMODES_GET,
  ETHTOOL_MSG_LINKMODES_GET_REPLY,
  ETHTOOL_MSG_LINKMODES_NTF,
  LINK_MODE_NAMES,
  SPEED_MAX_VALID,
} from './constants.js';
import { encodeDeviceGetRequest, walkDeviceMessage } from './header.js';
import type { Duplex, LinkModes } from './types.js';

/**
 * Mb/s of each link mode bit, 0 for bits that are not a speed (Autoneg, TP, Pause, FEC_*, ...):
 * the number before "base" in the kernel's name (10000baseT_Full -> 10000), as the kernel's own
 * link_mode_params table has it.
 */
const LINK_MODE_SPEEDS: readonly number[] = LINK_MODE_NAMES.map((name) => {
  const m = /^(\d+)base/.exec(name);
  return m === null ? 0 : Number(m[1]);
});

/** The kernel's name of link mode `bit` ('10000baseT_Full'), or undefined past the table. */
export function linkModeName(bit: number): string | undefined {
  return LINK_MODE_NAMES[bit];
}

/** Mb/s of link mode `bit`; undefined for bits without a speed or past the table. */
export function linkModeSpeedMbps(bit: number): number | undefined {
  const speed = LINK_MODE_SPEEDS[bit];
  return speed === undefined || speed === 0 ? undefined : speed;
}

/**
 * ETHTOOL_MSG_LINKMODES_GET for `ifindex` (a positive s32), flags ETHTOOL_FLAG_COMPACT_BITSETS by
 * default so that the link mode bitsets come as two bit arrays instead of one nest per mode.
 * Answered by ETHTOOL_MSG_LINKMODES_GET_REPLY with the same seq, or NLMSG_ERROR (-ENODEV: no
 * such device; -EOPNOTSUPP: the driver has no get_link_ksettings, e.g. lo).
 */
export function encodeLinkModesRequest(
  familyId: number,
  seq: number,
  ifindex: number,
  flags: number = ETHTOOL_FLAG_COMPACT_BITSETS,
): Buffer {
  return encodeDeviceGetRequest(familyId, ETHTOOL_MSG_LINKMODES_GET, ETHTOOL_A_LINKMODES_HEADER, seq, ifindex, flags);
}

const LINKMODES_CMDS = [ETHTOOL_MSG_LINKMODES_GET_REPLY, ETHTOOL_MSG_LINKMODES_NTF] as const;
let advertisedMax = 0;
let supportedMax = 0;
function visitOurs(bit: number, inValue: boolean, inMask: boolean): void {
  const speed = LINK_MODE_SPEEDS[bit];
  if (speed === undefined || speed === 0) return;
  if (inValue && speed > advertisedMax) advertisedMax = speed;
  if (inMask && speed > supportedMax) supportedMax = speed;
}

function duplexName(value: number): Duplex {
  if (value === DUPLEX_FULL) return 'full';
  if (value === DUPLEX_HALF) return 'half';
  return 'unknown';
}

/**
 * Decode an ethtool LINKMODES reply or notification. The caller has checked that nlmsg_type is
 * the ethtool family's id. Throws NetlinkDecodeError: 'unexpected_type' for another genl
 * command, 'short_genlmsghdr', 'missing_attribute' without a header DEV_INDEX, 'bad_bitset' for
 * an inconsistent OURS bitset, and the attribute reader's reasons.
 */
export function decodeLinkModes(msg: NetlinkMessage): LinkModes {
  let speedMbps: number | undefined;
  let duplex: Duplex | undefined;
  let autoneg: boolean | undefined;
  let advertisedSpeedMaxMbps: number | undefined;
  let supportedSpeedMaxMbps: number | undefined;
  const device = walkDeviceMessage(msg, LINKMODES_CMDS, 'LINKMODES reply or notification', ETHTOOL_A_LINKMODES_HEADER, (a) => {
    switch (a.type) {
      case ETHTOOL_A_LINKMODES_SPEED: {
        const speed = a.u32();
        speedMbps = speed > SPEED_MAX_VALID ? undefined : speed;
        break;
      }
      case ETHTOOL_A_LINKMODES_DUPLEX:
        duplex = duplexName(a.u8());
        break;
      case ETHTOOL_A_LINKMODES_AUTONEG:
        autoneg = a.u8() !== 0;
        break;
      case ETHTOOL_A_LINKMODES_OURS:
        advertisedMax = 0;
        supportedMax = 0;
        walkBitset(a, visitOurs);
        advertisedSpeedMaxMbps = advertisedMax === 0 ? undefined : advertisedMax;
        supportedSpeedMaxMbps = supportedMax === 0 ? undefined : supportedMax;
        break;
      default:
        break;
    }
  });
  return { ...device, speedMbps, duplex, autoneg, advertisedSpeedMaxMbps, supportedSpeedMaxMbps };
}
