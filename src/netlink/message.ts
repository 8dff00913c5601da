// Walk the netlink messages (struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
// plus payload) packed into one datagram, and decode the payloads of NLMSG_ERROR and NLMSG_DONE.
//
// Byte order: netlink speaks host byte order. We read little-endian and support only
// little-endian hosts (x86-64, arm64, riscv64, ppc64le …); importing this module on a
// big-endian host throws at once rather than decoding every number wrong. Supporting
// big-endian would mean a byte-order branch in every read for hosts nobody runs this on.

import { endianness } from 'node:os';
import { NetlinkDecodeError } from './errors.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
} from './constants.js';
import type { NetlinkErrorMessage, NetlinkMessage } from './types.js';

if (endianness() !== 'LE') {
  throw new Error('linkstate-exporter supports little-endian hosts only (netlink is host-endian)');
}

/** Round a length up to the 4-byte message alignment (safe for any length below 2^53). */
export function nlmsgAlign(len: number): number {
  return len + ((4 - (len & 3)) & 3);
}

/**
 * Split a datagram into its netlink messages. Every header passes the three-part check:
 * at least 16 bytes left ('short_header'), nlmsg_len >= 16 ('bad_length'), nlmsg_len <=
 * bytes left ('truncated'). The walk advances by nlmsg_len rounded up to 4.
 *
 * Trailing bytes: the walk ends when the aligned advance reaches or passes the end of the
 * datagram. So the last message's alignment padding (0–3 bytes) may be present or absent;
 * any other leftover — bytes after the last message, padding included, that are too few to
 * hold a header — is 'short_header'. An empty datagram holds no messages.
 *
 * A bad header throws NetlinkDecodeError: the lengths after it cannot be trusted, so the
 * rest of the datagram cannot be walked. Payloads are views into `datagram`, not copies.
 */
export function decodeMessages(datagram: Buffer): NetlinkMessage[] {
  const messages: NetlinkMessage[] = [];
  const size = datagram.length;
  let offset = 0;
  while (offset < size) {
    const left = size - offset;
    if (left < NLMSG_HDRLEN) {
      throw new NetlinkDecodeError(
        'short_header',
        offset,
        `${left} bytes left, need ${NLMSG_HDRLEN} for nlmsghdr`,
      );
    }
    const len = datagram.readUInt32LE(offset);
    if (len < NLMSG_HDRLEN) {
      throw new NetlinkDecodeError('bad_length', offset, `nlmsg_len ${len} below ${NLMSG_HDRLEN}`);
    }
    if (len > left) {
      throw new NetlinkDecodeError('truncated', offset, `nlmsg_len ${len} but ${left} bytes left`);
    }
    messages.push({
      type: datagram.readUInt16LE(offset + 4),
      flags: datagram.readUInt16LE(offset + 6),
      seq: datagram.readUInt32LE(offset + 8),
      pid: datagram.readUInt32LE(offset + 12),
      payload: datagram.subarray(offset + NLMSG_HDRLEN, offset + len),
      offset,
    });
    offset += nlmsgAlign(len);
  }
  return messages;
}

/**
 * Decode an NLMSG_ERROR payload (struct nlmsgerr): an s32 `error` — 0 for an ACK, else a
 * negated errno, kept as sent (e.g. -105) — then the header of the request it answers when
 * the kernel included it (it always does; the request payload after it is optional and
 * ignored, as are extended-ACK attributes). A payload under 4 bytes is 'short_error'; a
 * payload of 4 to 19 bytes decodes without requestType/requestSeq.
 */
export function decodeErrorMessage(msg: NetlinkMessage): NetlinkErrorMessage {
  if (msg.type !== NLMSG_ERROR) {
    throw new NetlinkDecodeError('unexpected_type', msg.offset, `nlmsg_type ${msg.type} is not NLMSG_ERROR`);
  }
  const payload = msg.payload;
  if (payload.length < 4) {
    throw new NetlinkDecodeError(
      'short_error',
      msg.offset,
      `NLMSG_ERROR payload of ${payload.length} bytes, need 4`,
    );
  }
  const error = payload.readInt32LE(0);
  if (payload.length < 4 + NLMSG_HDRLEN) return { error };
  return {
    error,
    requestType: payload.readUInt16LE(8),
    requestSeq: payload.readUInt32LE(12),
  };
}

/**
 * The status an NLMSG_DONE carries: 0 when a dump completed, a negated errno when the kernel
 * ended it with an error. An NLMSG_DONE without the 4-byte status (allowed by older senders)
 * reads as 0.
 */
export function decodeDoneStatus(msg: NetlinkMessage): number {
  return msg.payload.length >= 4 ? msg.payload.readInt32LE(0) : 0;
}

/** NLMSG_DONE: the end of a multipart (dump) reply. */
export function isDone(msg: NetlinkMessage): boolean {
  return msg.type === NLMSG_DONE;
}

/** NLMSG_ERROR: an error or an ACK (error 0); see decodeErrorMessage. */
export function isError(msg: NetlinkMessage): boolean {
  return msg.type === NLMSG_ERROR;
}

/** NLM_F_DUMP_INTR: the table changed during the dump; its result is inconsistent, dump again. */
export function isDumpInterrupted(msg: NetlinkMessage): boolean {
  return (msg.flags & NLM_F_DUMP_INTR) !== 0;
}

/** NLM_F_MULTI: part of a multipart reply, which ends with NLMSG_DONE. */
export function isMulti(msg: NetlinkMessage): boolean {
  return (msg.flags & NLM_F_MULTI) !== 0;
}
