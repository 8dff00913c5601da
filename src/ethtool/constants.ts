// Kernel numbers of generic netlink and ethtool netlink, under their kernel names.
// Sources (Linux uapi headers):
//   include/uapi/linux/netlink.h          NLMSG_MIN_TYPE
//   include/uapi/linux/genetlink.h        struct genlmsghdr, GENL_ID_CTRL, CTRL_CMD_*, CTRL_ATTR_*
//   include/uapi/linux/ethtool_netlink.h  ETHTOOL_MSG_*, ETHTOOL_A_*, ETHTOOL_FLAG_*, ETHTOOL_GENL_*
//     (since 6.14 the enums live in ethtool_netlink_generated.h; the numbers are append-only and
//     unchanged)
//   include/uapi/linux/ethtool.h          ETHTOOL_LINK_MODE_*_BIT, SPEED_UNKNOWN, DUPLEX_*,
//                                         enum ethtool_link_ext_state and its substate enums
// The socket's numbers (NETLINK_GENERIC, NETLINK_ADD_MEMBERSHIP) are src/netlink/constants.ts.

// struct genlmsghdr { u8 cmd; u8 version; u16 reserved; } after the nlmsghdr
export const GENL_HDRLEN = 4;
export const GENL_NAMSIZ = 16;
/** nlmsg_type of the generic netlink controller ("nlctrl"): NLMSG_MIN_TYPE. */
export const GENL_ID_CTRL = 0x10;

// controller commands (enum in genetlink.h)
export const CTRL_CMD_UNSPEC = 0;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_DELFAMILY = 2;
export const CTRL_CMD_GETFAMILY = 3;
/** genlmsghdr.version we send to nlctrl (what libmnl and iproute2 send). */
export const CTRL_VERSION = 1;

// controller attributes
export const CTRL_ATTR_FAMILY_ID = 1; // u16
export const CTRL_ATTR_FAMILY_NAME = 2; // string
export const CTRL_ATTR_VERSION = 3; // u32
export const CTRL_ATTR_HDRSIZE = 4; // u32
export const CTRL_ATTR_MAXATTR = 5; // u32
export const CTRL_ATTR_OPS = 6; // nest
export const CTRL_ATTR_MCAST_GROUPS = 7; // nest of nests (types 1..n), each CTRL_ATTR_MCAST_GRP_*
export const CTRL_ATTR_MCAST_GRP_NAME = 1; // string
export const CTRL_ATTR_MCAST_GRP_ID = 2; // u32

// ethtool generic netlink family
export const ETHTOOL_GENL_NAME = 'ethtool';
export const ETHTOOL_GENL_VERSION = 1;
export const ETHTOOL_MCGRP_MONITOR_NAME = 'monitor';

// message types, userspace to kernel (genlmsghdr.cmd of requests)
export const ETHTOOL_MSG_LINKINFO_GET = 2;
export const ETHTOOL_MSG_LINKINFO_SET = 3;
export const ETHTOOL_MSG_LINKMODES_GET = 4;
export const ETHTOOL_MSG_LINKMODES_SET = 5;
export const ETHTOOL_MSG_LINKSTATE_GET = 6;

// message types, kernel to userspace (genlmsghdr.cmd of replies and notifications)
export const ETHTOOL_MSG_LINKINFO_GET_REPLY = 2;
export const ETHTOOL_MSG_LINKINFO_NTF = 3;
export const ETHTOOL_MSG_LINKMODES_GET_REPLY = 4;
export const ETHTOOL_MSG_LINKMODES_NTF = 5;
export const ETHTOOL_MSG_LINKSTATE_GET_REPLY = 6;

// request header flags (ETHTOOL_A_HEADER_FLAGS)
export const ETHTOOL_FLAG_COMPACT_BITSETS = 1 << 0;
export const ETHTOOL_FLAG_OMIT_REPLY = 1 << 1;
export const ETHTOOL_FLAG_STATS = 1 << 2;

// ETHTOOL_A_HEADER_* (nested in every request and reply)
export const ETHTOOL_A_HEADER_DEV_INDEX = 1; // u32
export const ETHTOOL_A_HEADER_DEV_NAME = 2; // string
export const ETHTOOL_A_HEADER_FLAGS = 3; // u32
export const ETHTOOL_A_HEADER_PHY_INDEX = 4; // u32 (Linux >= 6.12)

// bitsets
export const ETHTOOL_A_BITSET_BIT_INDEX = 1; // u32
export const ETHTOOL_A_BITSET_BIT_NAME = 2; // string
export const ETHTOOL_A_BITSET_BIT_VALUE = 3; // flag
export const ETHTOOL_A_BITSET_BITS_BIT = 1; // nest - ETHTOOL_A_BITSET_BIT_*
export const ETHTOOL_A_BITSET_NOMASK = 1; // flag
export const ETHTOOL_A_BITSET_SIZE = 2; // u32
export const ETHTOOL_A_BITSET_BITS = 3; // nest - ETHTOOL_A_BITSET_BITS_*
export const ETHTOOL_A_BITSET_VALUE = 4; // binary
export const ETHTOOL_A_BITSET_MASK = 5; // binary
/** ETHNL_MAX_BITSET_SIZE (net/ethtool/bitset.h): S16_MAX bits. */
export const ETHNL_MAX_BITSET_SIZE = 0x7fff;

// LINKINFO
export const ETHTOOL_A_LINKINFO_HEADER = 1; // nest - ETHTOOL_A_HEADER_*

// LINKMODES
export const ETHTOOL_A_LINKMODES_HEADER = 1; // nest - ETHTOOL_A_HEADER_*
export const ETHTOOL_A_LINKMODES_AUTONEG = 2; // u8
export const ETHTOOL_A_LINKMODES_OURS = 3; // bitset: value = advertised, mask = supported
export const ETHTOOL_A_LINKMODES_PEER = 4; // bitset (list): link partner's advertised modes
export const ETHTOOL_A_LINKMODES_SPEED = 5; // u32, Mb/s
export const ETHTOOL_A_LINKMODES_DUPLEX = 6; // u8
export const ETHTOOL_A_LINKMODES_MASTER_SLAVE_CFG = 7; // u8
export const ETHTOOL_A_LINKMODES_MASTER_SLAVE_STATE = 8; // u8
export const ETHTOOL_A_LINKMODES_LANES = 9; // u32
export const ETHTOOL_A_LINKMODES_RATE_MATCHING = 10; // u8

// LINKSTATE
export const ETHTOOL_A_LINKSTATE_HEADER = 1; // nest - ETHTOOL_A_HEADER_*
export const ETHTOOL_A_LINKSTATE_LINK = 2; // u8 (bool)
export const ETHTOOL_A_LINKSTATE_SQI = 3; // u32
export const ETHTOOL_A_LINKSTATE_SQI_MAX = 4; // u32
export const ETHTOOL_A_LINKSTATE_EXT_STATE = 5; // u8 - enum ethtool_link_ext_state
export const ETHTOOL_A_LINKSTATE_EXT_SUBSTATE = 6; // u8 - enum ethtool_link_ext_substate_*
export const ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT = 7; // u32 (only with ETHTOOL_FLAG_STATS)

// ethtool.h
/** SPEED_UNKNOWN is -1, sent as the u32 0xffffffff. */
export const SPEED_UNKNOWN = 0xffffffff;
/** ethtool_validate_speed(): a valid speed is <= INT_MAX (or SPEED_UNKNOWN). */
export const SPEED_MAX_VALID = 0x7fffffff;
export const DUPLEX_HALF = 0x00;
export const DUPLEX_FULL = 0x01;
export const DUPLEX_UNKNOWN = 0xff;
export const AUTONEG_DISABLE = 0x00;
export const AUTONEG_ENABLE = 0x01;

/**
 * enum ethtool_link_mode_bit_indices, in bit order: the kernel's names with the
 * ETHTOOL_LINK_MODE_ prefix and _BIT suffix dropped (bit 12 is ETHTOOL_LINK_MODE_10000baseT_Full_BIT).
 * Bits 0-92 as in Linux 6.1; 93-125 added since (800G, 10BASE-T1S, 200G/400G/800G per-lane
 * 100G, 1.6T, 25GBASE-LR). A kernel newer than this table may set bits past its end: they have
 * no name and no speed here.
 */
export const LINK_MODE_NAMES: readonly string[] = [
  '10baseT_Half', '10baseT_Full', '100baseT_Half', '100baseT_Full', '1000baseT_Half', // 0-4
  '1000baseT_Full', 'Autoneg', 'TP', 'AUI', 'MII', // 5-9
  'FIBRE', 'BNC', '10000baseT_Full', 'Pause', 'Asym_Pause', // 10-14
  '2500baseX_Full', 'Backplane', '1000baseKX_Full', '10000baseKX4_Full', '10000baseKR_Full', // 15-19
  '10000baseR_FEC', '20000baseMLD2_Full', '20000baseKR2_Full', '40000baseKR4_Full', '40000baseCR4_Full', // 20-24
  '40000baseSR4_Full', '40000baseLR4_Full', '56000baseKR4_Full', '56000baseCR4_Full', '56000baseSR4_Full', // 25-29
  '56000baseLR4_Full', '25000baseCR_Full', '25000baseKR_Full', '25000baseSR_Full', '50000baseCR2_Full', // 30-34
  '50000baseKR2_Full', '100000baseKR4_Full', '100000baseSR4_Full', '100000baseCR4_Full', '100000baseLR4_ER4_Full', // 35-39
  '50000baseSR2_Full', '1000baseX_Full', '10000baseCR_Full', '10000baseSR_Full', '10000baseLR_Full', // 40-44
  '10000baseLRM_Full', '10000baseER_Full', '2500baseT_Full', '5000baseT_Full', 'FEC_NONE', // 45-49
  'FEC_RS', 'FEC_BASER', '50000baseKR_Full', '50000baseSR_Full', '50000baseCR_Full', // 50-54
  '50000baseLR_ER_FR_Full', '50000baseDR_Full', '100000baseKR2_Full', '100000baseSR2_Full', '100000baseCR2_Full', // 55-59
  '100000baseLR2_ER2_FR2_Full', '100000baseDR2_Full', '200000baseKR4_Full', '200000baseSR4_Full', '200000baseLR4_ER4_FR4_Full', // 60-64
  '200000baseDR4_Full', '200000baseCR4_Full', '100baseT1_Full', '1000baseT1_Full', '400000baseKR8_Full', // 65-69
  '400000baseSR8_Full', '400000baseLR8_ER8_FR8_Full', '400000baseDR8_Full', '400000baseCR8_Full', 'FEC_LLRS', // 70-74
  '100000baseKR_Full', '100000baseSR_Full', '100000baseLR_ER_FR_Full', '100000baseCR_Full', '100000baseDR_Full', // 75-79
  '200000baseKR2_Full', '200000baseSR2_Full', '200000baseLR2_ER2_FR2_Full', '200000baseDR2_Full', '200000baseCR2_Full', // 80-84
  '400000baseKR4_Full', '400000baseSR4_Full', '400000baseLR4_ER4_FR4_Full', '400000baseDR4_Full', '400000baseCR4_Full', // 85-89
  '100baseFX_Half', '100baseFX_Full', '10baseT1L_Full', '800000baseCR8_Full', '800000baseKR8_Full', // 90-94
  '800000baseDR8_Full', '800000baseDR8_2_Full', '800000baseSR8_Full', '800000baseVR8_Full', '10baseT1S_Full', // 95-99
  '10baseT1S_Half', '10baseT1S_P2MP_Half', '10baseT1BRR_Full', '200000baseCR_Full', '200000baseKR_Full', // 100-104
  '200000baseDR_Full', '200000baseDR_2_Full', '200000baseSR_Full', '200000baseVR_Full', '400000baseCR2_Full', // 105-109
  '400000baseKR2_Full', '400000baseDR2_Full', '400000baseDR2_2_Full', '400000baseSR2_Full', '400000baseVR2_Full', // 110-114
  '800000baseCR4_Full', '800000baseKR4_Full', '800000baseDR4_Full', '800000baseDR4_2_Full', '800000baseSR4_Full', // 115-119
  '800000baseVR4_Full', '1600000baseCR8_Full', '1600000baseKR8_Full', '1600000baseDR8_Full', '1600000baseDR8_2_Full', // 120-124
  '25000baseLR_Full', // 125
];

/**
 * enum ethtool_link_ext_state, lower-cased without the ETHTOOL_LINK_EXT_STATE_ prefix, indexed
 * by value (Linux 5.9; module 5.16; otp_speed_violation and bmc_request_down later).
 */
export const LINK_EXT_STATE_NAMES: readonly string[] = [
  'autoneg', // 0
  'link_training_failure', // 1
  'link_logical_mismatch', // 2
  'bad_signal_integrity', // 3
  'no_cable', // 4
  'cable_issue', // 5
  'eeprom_issue', // 6
  'calibration_failure', // 7
  'power_budget_exceeded', // 8
  'overheat', // 9
  'module', // 10
  'otp_speed_violation', // 11
  'bmc_request_down', // 12
];

/**
 * The substate enums, keyed by the ext_state value they refine; each list is indexed by
 * substate value - 1 (substates start at 1; 0 means none and is never sent). The kernel's names
 * abbreviate the state (ETHTOOL_LINK_EXT_SUBSTATE_AN_NO_PARTNER_DETECTED); here the abbreviation
 * is spelt out (AN autoneg, LT link_training, LLM link_logical_mismatch, BSI bad_signal_integrity,
 * CI cable_issue), so a substate name stands on its own: 'autoneg_no_partner_detected',
 * 'link_training_kr_frame_lock_not_acquired', 'module_cmis_not_ready'.
 */
export const LINK_EXT_SUBSTATE_NAMES: ReadonlyMap<number, readonly string[]> = new Map([
  [
    0, // ETHTOOL_LINK_EXT_SUBSTATE_AN_*
    [
      'autoneg_no_partner_detected',
      'autoneg_ack_not_received',
      'autoneg_next_page_exchange_failed',
      'autoneg_no_partner_detected_force_mode',
      'autoneg_fec_mismatch_during_override',
      'autoneg_no_hcd',
    ],
  ],
  [
    1, // ETHTOOL_LINK_EXT_SUBSTATE_LT_*
    [
      'link_training_kr_frame_lock_not_acquired',
      'link_training_kr_link_inhibit_timeout',
      'link_training_kr_link_partner_did_not_set_receiver_ready',
      'link_training_remote_fault',
    ],
  ],
  [
    2, // ETHTOOL_LINK_EXT_SUBSTATE_LLM_*
    [
      'link_logical_mismatch_pcs_did_not_acquire_block_lock',
      'link_logical_mismatch_pcs_did_not_acquire_am_lock',
      'link_logical_mismatch_pcs_did_not_get_align_status',
      'link_logical_mismatch_fc_fec_is_not_locked',
      'link_logical_mismatch_rs_fec_is_not_locked',
    ],
  ],
  [
    3, // ETHTOOL_LINK_EXT_SUBSTATE_BSI_*
    [
      'bad_signal_integrity_large_number_of_physical_errors',
      'bad_signal_integrity_unsupported_rate',
      'bad_signal_integrity_serdes_reference_clock_lost',
      'bad_signal_integrity_serdes_alos',
    ],
  ],
  [
    5, // ETHTOOL_LINK_EXT_SUBSTATE_CI_*
    ['cable_issue_unsupported_cable', 'cable_issue_cable_test_failure'],
  ],
  [
    10, // ETHTOOL_LINK_EXT_SUBSTATE_MODULE_*
    ['module_cmis_not_ready'],
  ],
]);
