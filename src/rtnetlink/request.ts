// rtnetlink requests: the link dump, of our namespace or with IFLA_TARGET_NETNSID of another one,
// and the request layout nsid.ts's namespace id requests share.

import { NLMSG_HDRLEN, NLM_F_DUMP, NLM_F_REQUEST } from '../netlink/constants.js';
import { IFINFOMSG_LEN, RTM_GETLINK, IFLA_TARGET_NETNSID } from './constants.js';

/**
 * RTM_GETLINK with NLM_F_REQUEST | NLM_F_DUMP and an all-zero ifinfomsg (family AF_UNSPEC):
 * "send every link". nlmsg_pid is 0 (the kernel fills in the sender). `seq` must be an
 * integer in [0, 2^32); anything else is a caller bug and throws RangeError. Host byte
 * order, little-endian (see message.ts).
 */
export function encodeLinkDumpRequest(seq: number, targetNsid?: number): Buffer {
  if (targetNsid !== undefined && (!Number.isInteger(targetNsid) || targetNsid < 0 || targetNsid > 0x7fffffff)) {
    throw new RangeError(`nsid ${targetNsid} is not a non-negative s32`);
  }
  // IFLA_TARGET_NETNSID (s32): dump the links of the namespace with this nsid in ours.
  return encodeRtnlRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, IFINFOMSG_LEN, targetNsid === undefined ? [] : [[IFLA_TARGET_NETNSID, targetNsid]]);
}

/**
 * An rtnetlink request: nlmsghdr (nlmsg_pid 0: the kernel fills in the sender), the message
 * type's fixed header of `headerLen` bytes, all zero (family AF_UNSPEC), then one s32 attribute
 * per [type, value]. `seq` must be a u32 (else RangeError: a caller bug).
 */
export function encodeRtnlRequest(
  type: number,
  flags: number,
  seq: number,
  headerLen: number,
  attributes: ReadonlyArray<readonly [number, number]>,
): Buffer {
  if (!Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) {
    throw new RangeError(`netlink sequence number ${seq} is not a u32`);
  }
  const len = NLMSG_HDRLEN + headerLen + attributes.length * 8;
  const buf = Buffer.alloc(len); // zero-filled: the fixed header stays all zero, family AF_UNSPEC
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq, 8);
  let at = NLMSG_HDRLEN + headerLen;
  for (const [attr, value] of attributes) {
    buf.writeUInt16LE(8, at);
    buf.writeUInt16LE(attr, at + 2);
    buf.writeInt32LE(value, at + 4);
    at += 8;
  }
  return buf;
}
