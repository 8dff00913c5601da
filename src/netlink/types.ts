// The shapes that cross module boundaries in the netlink layer. Pure data, no behaviour.

/** One netlink message (struct nlmsghdr plus its payload), as walked out of a datagram. */
export interface NetlinkMessage {
  /** nlmsg_type */
  readonly type: number;
  /** nlmsg_flags */
  readonly flags: number;
  /** nlmsg_seq */
  readonly seq: number;
  /** nlmsg_pid */
  readonly pid: number;
  /** The bytes after the 16-byte header, nlmsg_len - 16 long (a view, not a copy). */
  readonly payload: Buffer;
  /** Offset of the header inside the datagram it came from. */
  readonly offset: number;
}

/**
 * The decoded state of one link, from an RTM_NEWLINK or RTM_DELLINK message.
 * Optional attributes the kernel did not send stay undefined — never 0 or ''.
 */
export interface LinkMessage {
  /** 'new' for RTM_NEWLINK, 'del' for RTM_DELLINK. */
  readonly kind: 'new' | 'del';
  /**
   * ifi_family: AF_UNSPEC (0) for the link itself. Bridge ports also announce their bridge port
   * state on RTMGRP_LINK with AF_BRIDGE (7); an AF_BRIDGE RTM_DELLINK only means the port left
   * its bridge, not that the link is gone.
   */
  readonly family: number;
  /** ifi_index */
  readonly ifindex: number;
  /** ifi_flags (IFF_UP, IFF_LOWER_UP, IFF_RUNNING, ...) */
  readonly flags: number;
  /** ifi_change: a hint, not a transition log. */
  readonly change: number;
  /** ifi_type (ARPHRD_*) */
  readonly linkType: number;
  /** IFLA_IFNAME */
  readonly ifname?: string;
  /** IFLA_OPERSTATE (IF_OPER_*) */
  readonly operstate?: number;
  /** IFLA_CARRIER (0 or 1) */
  readonly carrier?: number;
  /** IFLA_CARRIER_CHANGES */
  readonly carrierChanges?: number;
  /** IFLA_CARRIER_UP_COUNT */
  readonly carrierUpCount?: number;
  /** IFLA_CARRIER_DOWN_COUNT */
  readonly carrierDownCount?: number;
  /** IFLA_MTU */
  readonly mtu?: number;
  /** IFLA_ADDRESS as lower-case colon-separated hex ("02:00:5e:10:00:01") */
  readonly address?: string;
  /** IFLA_IFALIAS */
  readonly ifalias?: string;
  /** IFLA_MASTER (ifindex of the master device) */
  readonly master?: number;
  /** IFLA_LINKINFO / IFLA_INFO_KIND ("veth", "bridge", ...) */
  readonly infoKind?: string;
  /**
   * IFLA_BRPORT_STATE (BR_STATE_*) of a bridge port: from IFLA_PROTINFO in an AF_BRIDGE message,
   * or from IFLA_LINKINFO / IFLA_INFO_SLAVE_DATA (slave kind "bridge") in an AF_UNSPEC one.
   */
  readonly bridgePortState?: number;
  /**
   * IFLA_LINK: ifindex of the lower device (vlan, macvlan) or of a veth's peer, in the namespace
   * IFLA_LINK_NETNSID names when that is present; sent only when it differs from ifindex.
   */
  readonly iflink?: number;
  /** IFLA_LINK_NETNSID: nsid (as our namespace sees it) of the namespace iflink is in, when not ours. */
  readonly linkNetnsid?: number;
  /** IFLA_PROTO_DOWN (0 or 1): 1 while a daemon holds the link protodown. */
  readonly protoDown?: number;
  /** IFLA_PROTO_DOWN_REASON / IFLA_PROTO_DOWN_REASON_VALUE: the reason bits; sent only when non-zero. */
  readonly protoDownReason?: number;
  /** IFLA_PARENT_DEV_NAME: the parent device ("0000:03:00.0", "virtio2"); physical devices only. */
  readonly parentDevice?: string;
  /** IFLA_PARENT_DEV_BUS_NAME: the parent device's bus ("pci", "virtio"). */
  readonly parentBus?: string;
}

/** NLMSG_ERROR payload: the negated errno (0 is an ACK) and the header of the request it answers. */
export interface NetlinkErrorMessage {
  readonly error: number;
  readonly requestType?: number;
  readonly requestSeq?: number;
}
