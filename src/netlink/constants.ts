// Kernel numbers under their kernel names.
// Sources: include/uapi/linux/netlink.h, rtnetlink.h, if_link.h, if.h, socket.h.

// socket(2)
export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
export const NETLINK_ROUTE = 0;
export const SOL_SOCKET = 1;
export const SOL_NETLINK = 270;
/** socket(2) protocol of generic netlink (the ethtool family lives there). */
export const NETLINK_GENERIC = 16;
/** setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, 4): join a multicast group by number. */
export const NETLINK_ADD_MEMBERSHIP = 1;
export const SO_RCVBUF = 8;
export const SO_RCVBUFFORCE = 33;
export const NETLINK_NO_ENOBUFS = 5;
/**
 * setsockopt(SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &1, 4): also receive the multicast messages of
 * every namespace that has an nsid in ours (CAP_NET_BROADCAST); recvmsg then carries a control
 * message of this level and type whose int is that nsid.
 */
export const NETLINK_LISTEN_ALL_NSID = 8;
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
/** recvmsg: the control data was cut short (msg_controllen too small). */
export const MSG_CTRUNC = 0x8;
export const MSG_DONTWAIT = 0x40;

// multicast groups (legacy bitmask form for nl_groups)
export const RTMGRP_LINK = 0x1;
/** RTNLGRP_NSID (group number, for NETLINK_ADD_MEMBERSHIP): RTM_NEWNSID/RTM_DELNSID of our namespace. */
export const RTNLGRP_NSID = 28;

// netlink message header: struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
export const NLMSG_HDRLEN = 16;
export const NLMSG_ALIGNTO = 4;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

// nlmsg_flags
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;

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
/** An nsid of -1: none assigned (in a NEWNSID request: "pick one"). */
export const NETNSA_NSID_NOT_ASSIGNED = -1;

// struct ifinfomsg { u8 family; u8 pad; u16 type; s32 index; u32 flags; u32 change; }
export const IFINFOMSG_LEN = 16;
export const AF_UNSPEC = 0;
/** ifi_family of the bridge port messages (IFLA_PROTINFO) on RTMGRP_LINK. */
export const AF_BRIDGE = 7;

// struct rtattr { u16 len; u16 type; }
export const RTA_HDRLEN = 4;
export const RTA_ALIGNTO = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

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

// errno values we act on
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOBUFS = 105;
export const EBUSY = 16;
export const EPERM = 1;
export const EBADF = 9;
