// The shapes the ethtool codec hands out. Pure data, no behaviour. Attributes the kernel did not
// send stay undefined — never 0, '' or false.

/** struct genlmsghdr, less its reserved field. */
export interface GenlHeader {
  readonly cmd: number;
  readonly version: number;
}

export interface GenlMulticastGroup {
  /** CTRL_ATTR_MCAST_GRP_NAME ("monitor") */
  readonly name: string;
  /** CTRL_ATTR_MCAST_GRP_ID: the group number for NETLINK_ADD_MEMBERSHIP. */
  readonly id: number;
}

/** A CTRL_CMD_NEWFAMILY reply: what is needed to talk to a generic netlink family. */
export interface GenlFamily {
  /** CTRL_ATTR_FAMILY_ID: the nlmsg_type of the family's requests, replies and notifications. */
  readonly familyId: number;
  /** CTRL_ATTR_FAMILY_NAME */
  readonly name: string | undefined;
  /** CTRL_ATTR_VERSION */
  readonly version: number | undefined;
  /** CTRL_ATTR_HDRSIZE (0 for ethtool: no family header after genlmsghdr) */
  readonly hdrSize: number | undefined;
  /** CTRL_ATTR_MAXATTR */
  readonly maxAttr: number | undefined;
  /** CTRL_ATTR_MCAST_GROUPS, in the kernel's order; empty when the family has none. */
  readonly multicastGroups: readonly GenlMulticastGroup[];
}

export type Duplex = 'full' | 'half' | 'unknown';

/** ETHTOOL_MSG_LINKMODES_GET_REPLY or ETHTOOL_MSG_LINKMODES_NTF. */
export interface LinkModes {
  /** ETHTOOL_A_HEADER_DEV_INDEX */
  readonly ifindex: number;
  /** ETHTOOL_A_HEADER_DEV_NAME */
  readonly ifname: string | undefined;
  /**
   * ETHTOOL_A_LINKMODES_SPEED in Mb/s; undefined when absent, SPEED_UNKNOWN (0xffffffff) or
   * another value ethtool_validate_speed() rejects (> INT_MAX). 0 stays 0: some drivers report 0
   * while the link is down.
   */
  readonly speedMbps: number | undefined;
  /** ETHTOOL_A_LINKMODES_DUPLEX: DUPLEX_FULL, DUPLEX_HALF, anything else (DUPLEX_UNKNOWN 0xff) 'unknown'. */
  readonly duplex: Duplex | undefined;
  /** ETHTOOL_A_LINKMODES_AUTONEG: any non-zero value is on. */
  readonly autoneg: boolean | undefined;
  /**
   * The fastest link mode advertised: the highest speed among the bits set in the value of the
   * ETHTOOL_A_LINKMODES_OURS bitset (bits without a speed — Autoneg, TP, Pause, FEC_* — and bits
   * unknown to LINK_MODE_NAMES do not count). Undefined when the bitset is absent or advertises
   * no mode with a speed.
   */
  readonly advertisedSpeedMaxMbps: number | undefined;
  /** The same over the bitset's mask: the fastest mode the device supports. */
  readonly supportedSpeedMaxMbps: number | undefined;
}

/** ETHTOOL_MSG_LINKSTATE_GET_REPLY. */
export interface LinkState {
  readonly ifindex: number;
  readonly ifname: string | undefined;
  /** ETHTOOL_A_LINKSTATE_LINK (what `ethtool` prints as "Link detected"). */
  readonly link: boolean | undefined;
  /** ETHTOOL_A_LINKSTATE_SQI: signal quality index, only from PHYs that measure it. */
  readonly sqi: number | undefined;
  /** ETHTOOL_A_LINKSTATE_SQI_MAX */
  readonly sqiMax: number | undefined;
  /**
   * ETHTOOL_A_LINKSTATE_EXT_STATE as the kernel's name lower-cased ('no_cable', 'autoneg', ...;
   * LINK_EXT_STATE_NAMES); a number this table does not know becomes 'unknown_<n>'.
   */
  readonly extState: string | undefined;
  /**
   * ETHTOOL_A_LINKSTATE_EXT_SUBSTATE named within its state ('autoneg_no_partner_detected';
   * LINK_EXT_SUBSTATE_NAMES); unknown numbers, or a substate without a known state, 'unknown_<n>'.
   */
  readonly extSubstate: string | undefined;
  /**
   * ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT: link-down events the PHY or driver counted (Linux >= 6.2,
   * only in replies to a request with ETHTOOL_FLAG_STATS, only from drivers that count them).
   */
  readonly linkDownEvents: number | undefined;
}

/** ETHTOOL_MSG_LINKINFO_NTF / _GET_REPLY: only which device changed (port, transceiver, MDI-X). */
export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string | undefined;
}

/** What decodeEthtoolMessage makes of one message of the ethtool family. */
export type EthtoolMessage =
  | { readonly kind: 'linkmodes'; readonly notification: boolean; readonly linkModes: LinkModes }
  | { readonly kind: 'linkstate'; readonly linkState: LinkState }
  | { readonly kind: 'linkinfo'; readonly notification: boolean; readonly linkInfo: LinkInfo }
  /** Any other command (the monitor group also carries FEATURES_NTF, RINGS_NTF, ...): not decoded. */
  | { readonly kind: 'other'; readonly cmd: number };
