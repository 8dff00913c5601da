// rtnetlink numbers under their kernel names: groups, message types, the link and nsid messages
// and their attributes, link flags and states. Netlink-level numbers are src/netlink/constants.ts.
// Sources: include/uapi/linux/rtnetlink.h, if_link.h, if.h, if_bridge.h, net_namespace.h.

export { NETNSA_NSID_NOT_ASSIGNED } from '../netlink/constants.js';

// multicast groups (legacy bitmask form for nl_groups)
export const RTMGRP_LINK = 0x1;
/** RTNLGRP_NSID (group number, for NETLINK_ADD_MEMBERSHIP): RTM_NEWNSID/RTM_DELNSID of our namespace. */
export const RTNLGRP_NSID = 28;

// rtnetlink message types
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWNSID = 88;
export const RTM_DELNSID = 89;
export const RTM_GETNSID = 90;

// NSID messages: struct rtgenmsg { u8 family; } padded to 4, then NETNSA_* attributes.
export const RTGENMSG_LEN = 4;
export const NETNSA_NSID = 1; // s32
export const NETNSA_PID = 2; // u32
export const NETNSA_FD = 3; // u32

// struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; }
export const IFINFOMSG_LEN = 16;
export const AF_UNSPEC = 0;
/** ifi_family of the bridge port messages (IFLA_PROTINFO) on RTMGRP_LINK. */
export const AF_BRIDGE = 7;

// IFLA_* (enum in if_link.h)
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
/** u32: ifindex of the lower device (vlan, macvlan) or of a veth's peer; sent only when it differs from the link's own. */
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_PROTINFO = 12;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_GROUP = 27;
export const IFLA_CARRIER = 33;
export const IFLA_CARRIER_CHANGES = 35;
/** s32: the namespace (nsid, as seen from ours) of the device IFLA_LINK names, when not ours. */
export const IFLA_LINK_NETNSID = 37;
/** u8: 1 while a daemon holds the link protodown (carrier off whatever the medium says). */
export const IFLA_PROTO_DOWN = 39;
/** IFLA_TARGET_NETNSID (was IFLA_IF_NETNSID): s32, the namespace a request is about. */
export const IFLA_TARGET_NETNSID = 46;
export const IFLA_CARRIER_UP_COUNT = 47;
export const IFLA_CARRIER_DOWN_COUNT = 48;
/** nested IFLA_PROTO_DOWN_REASON_*: why the link is protodown, one bit per reason. */
export const IFLA_PROTO_DOWN_REASON = 55;
/** NUL-terminated string: the device's parent device (dev->dev.parent: "0000:03:00.0", "virtio2"). */
export const IFLA_PARENT_DEV_NAME = 56;
/** NUL-terminated string: the bus of that parent device ("pci", "virtio", "usb"). */
export const IFLA_PARENT_DEV_BUS_NAME = 57;

// IFLA_PROTO_DOWN_REASON_* (nested in IFLA_PROTO_DOWN_REASON)
/** u32: which reason bits a request changes (requests only; the kernel's replies carry VALUE). */
export const IFLA_PROTO_DOWN_REASON_MASK = 1;
/** u32: the reason bits set. */
export const IFLA_PROTO_DOWN_REASON_VALUE = 2;

// IFLA_INFO_* (nested in IFLA_LINKINFO)
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;

// IFLA_BRPORT_* (nested in AF_BRIDGE IFLA_PROTINFO and in IFLA_INFO_SLAVE_DATA of a bridge port)
export const IFLA_BRPORT_STATE = 1; // u8, BR_STATE_*

// BR_STATE_* (if_bridge.h): the STP state of a bridge port
export const BR_STATE_DISABLED = 0;
export const BR_STATE_LISTENING = 1;
export const BR_STATE_LEARNING = 2;
export const BR_STATE_FORWARDING = 3;
export const BR_STATE_BLOCKING = 4;
/** Bridge port state names indexed by BR_STATE_* value. */
export const BRIDGE_PORT_STATE_NAMES = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'] as const;

// ifi_flags (if.h)
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;
export const IFF_DORMANT = 0x20000;

// IF_OPER_* (RFC 2863 operational status, if.h)
export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_NOTPRESENT = 1;
export const IF_OPER_DOWN = 2;
export const IF_OPER_LOWERLAYERDOWN = 3;
export const IF_OPER_TESTING = 4;
export const IF_OPER_DORMANT = 5;
export const IF_OPER_UP = 6;

/** RFC 2863 state names indexed by IF_OPER_* value. */
export const OPER_STATE_NAMES = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
] as const;
export type OperStateName = (typeof OPER_STATE_NAMES)[number];
