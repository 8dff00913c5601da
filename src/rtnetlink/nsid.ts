// Namespace ids (nsids): the RTM_*NSID messages of rtnetlink. An nsid is the number our namespace
// gives another one; it is how NETLINK_LISTEN_ALL_NSID datagrams say where they come from, and
// how a request (IFLA_TARGET_NETNSID) names the namespace it is about.
//
// Requests: RTM_GETNSID as a dump (every nsid of our namespace), RTM_GETNSID for one namespace
// named by an fd of it (NETNSA_FD) or by a process in it (NETNSA_PID), and RTM_NEWNSID with
// NETNSA_FD and NETNSA_NSID = -1 ("give it one", as `ip netns set NAME auto` does). Answers and
// the RTNLGRP_NSID notifications are RTM_NEWNSID/RTM_DELNSID carrying NETNSA_NSID.

import { NetlinkDecodeError } from '../netlink/errors.js';
import { AttributeReader } from '../netlink/attributes.js';
import {
  NETNSA_NSID_NOT_ASSIGNED,
  NLMSG_HDRLEN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
} from '../netlink/constants.js';
import {
  NETNSA_FD,
  NETNSA_NSID,
  NETNSA_PID,
  RTGENMSG_LEN,
  RTM_DELNSID,
  RTM_GETNSID,
  RTM_NEWNSID,
} from './constants.js';
import { encodeRtnlRequest } from './request.js';
import type { NetlinkMessage } from '../netlink/types.js';

/** An RTM_*NSID request: struct rtgenmsg (padded to 4) and NETNSA_* s32 attributes. */
function header(type: number, flags: number, seq: number, attributes: ReadonlyArray<readonly [number, number]>): Buffer {
  return encodeRtnlRequest(type, flags, seq, RTGENMSG_LEN, attributes);
}

/** RTM_GETNSID dump: every nsid our namespace has given. */
export function encodeNsidDumpRequest(seq: number): Buffer {
  return header(RTM_GETNSID, NLM_F_REQUEST | NLM_F_DUMP, seq, []);
}

/** RTM_GETNSID for the namespace an fd refers to (answer: RTM_NEWNSID, then the ACK). */
export function encodeNsidOfFdRequest(seq: number, fd: number): Buffer {
  return header(RTM_GETNSID, NLM_F_REQUEST | NLM_F_ACK, seq, [[NETNSA_FD, fd]]);
}

/** RTM_GETNSID for the namespace process `pid` is in. */
export function encodeNsidOfPidRequest(seq: number, pid: number): Buffer {
  return header(RTM_GETNSID, NLM_F_REQUEST | NLM_F_ACK, seq, [[NETNSA_PID, pid]]);
}

/** RTM_NEWNSID: give the namespace of `fd` an nsid of the kernel's choosing (CAP_NET_ADMIN). */
export function encodeAssignNsidRequest(seq: number, fd: number): Buffer {
  return header(RTM_NEWNSID, NLM_F_REQUEST | NLM_F_ACK, seq, [
    [NETNSA_FD, fd],
    [NETNSA_NSID, NETNSA_NSID_NOT_ASSIGNED],
  ]);
}

export interface NsidMessage {
  readonly kind: 'new' | 'del';
  /** NETNSA_NSID; -1 (NETNSA_NSID_NOT_ASSIGNED) when the namespace has none */
  readonly nsid: number;
}

const reader = new AttributeReader();

/** Decodes RTM_NEWNSID/RTM_DELNSID. Throws NetlinkDecodeError. */
export function decodeNsidMessage(msg: NetlinkMessage): NsidMessage {
  if (msg.type !== RTM_NEWNSID && msg.type !== RTM_DELNSID) {
    throw new NetlinkDecodeError('unexpected_type', msg.offset, `nlmsg_type ${msg.type} is not RTM_NEWNSID/RTM_DELNSID`);
  }
  const payload = msg.payload;
  if (payload.length < RTGENMSG_LEN) {
    throw new NetlinkDecodeError('short_rtgenmsg', msg.offset, `nsid message payload of ${payload.length} bytes, need ${RTGENMSG_LEN}`);
  }
  let nsid: number | undefined;
  try {
    reader.init(payload, RTGENMSG_LEN, payload.length, msg.offset + NLMSG_HDRLEN);
    while (reader.next()) if (reader.type === NETNSA_NSID) nsid = reader.s32();
  } finally {
    reader.release();
  }
  if (nsid === undefined) throw new NetlinkDecodeError('missing_attribute', msg.offset, 'nsid message without NETNSA_NSID');
  return { kind: msg.type === RTM_NEWNSID ? 'new' : 'del', nsid };
}
