// The link dump request: of our namespace, or with IFLA_TARGET_NETNSID of another one (nsid.ts has
// the namespace id requests).

import {
  AF_UNSPEC,
  IFINFOMSG_LEN,
  NLMSG_HDRLEN,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  RTM_GETLINK,
  IFLA_TARGET_NETNSID,
} from './constants.js';

/**
 * RTM_GETLINK with NLM_F_REQUEST | NLM_F_DUMP and an all-zero ifinfomsg (family AF_UNSPEC):
 * "send every link". nlmsg_pid is 0 (the kernel fills in the sender). `seq` must be an
 * integer in [0, 2^32); anything else is a caller bug and throws RangeError. Host byte
 * order, little-endian (see message.ts).
 */
export function encodeLinkDumpRequest(seq: number, targetNsid?: number): Buffer {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) {
    throw new RangeError(`netlink sequence number ${seq} is not a u32`);
  }
  if (targetNsid !== undefined && (!Number.isInteger(targetNsid) || targetNsid < 0 || targetNsid > 0x7fffffff)) {
    throw new RangeError(`nsid ${targetNsid} is not a non-negative s32`);
  }
  const len = NLMSG_HDRLEN + IFINFOMSG_LEN + (targetNsid === undefined ? 0 : 8);
  const buf = Buffer.alloc(len); // zero-filled: ifinfomsg stays all zero
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(RTM_GETLINK, 4);
  buf.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  buf.writeUInt32LE(seq, 8);
  buf.writeUInt32LE(0, 12);
  buf.writeUInt8(AF_UNSPEC, NLMSG_HDRLEN);
  if (targetNsid !== undefined) {
    // IFLA_TARGET_NETNSID (s32): dump the links of the namespace with this nsid in ours.
    buf.writeUInt16LE(8, NLMSG_HDRLEN + IFINFOMSG_LEN);
    buf.writeUInt16LE(IFLA_TARGET_NETNSID, NLMSG_HDRLEN + IFINFOMSG_LEN + 2);
    buf.writeInt32LE(targetNsid, NLMSG_HDRLEN + IFINFOMSG_LEN + 4);
  }
  return buf;
}
