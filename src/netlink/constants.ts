// Netlink numbers under their kernel names: the socket, the message header and flags, the
// attribute header, and the errno values the exporter acts on. Protocol numbers of the families
// built on netlink live with their codecs (src/rtnetlink/constants.ts, src/ethtool/constants.ts).
// Sources: include/uapi/linux/netlink.h, socket.h, asm-generic/errno*.h.

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

/**
 * The nsid a NETLINK_LISTEN_ALL_NSID control message carries for a namespace with no id in ours
 * (net_namespace.h: NETNSA_NSID_NOT_ASSIGNED; in a RTM_NEWNSID request: "pick one").
 */
export const NETNSA_NSID_NOT_ASSIGNED = -1;

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

// struct rtattr { u16 len; u16 type; }
export const RTA_HDRLEN = 4;
export const RTA_ALIGNTO = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

// errno values we act on (positive; NLMSG_ERROR and NLMSG_DONE carry them negated)
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EOPNOTSUPP = 95;
export const EADDRNOTAVAIL = 99;
export const ENOBUFS = 105;
