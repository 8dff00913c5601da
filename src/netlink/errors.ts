// Error classes of linkstate-exporter. Each has a fixed `code` so callers can switch on it
// without instanceof across module copies, and so logs and metrics can use it as a label.

import { constants as osConstants } from 'node:os';

/**
 * Why a netlink datagram, message or attribute could not be decoded. Short snake_case values,
 * usable directly as a Prometheus label value (a closed set, so cardinality stays bounded).
 * The list pre-initialises labelled counters at zero; the type is derived from it.
 */
export const NETLINK_DECODE_REASONS = [
  /** Fewer than 16 bytes left where an nlmsghdr must start. */
  'short_header',
  /** nlmsg_len below the 16-byte header size. */
  'bad_length',
  /** nlmsg_len runs past the end of the datagram. */
  'truncated',
  /** An rtattr header or its rta_len runs past the end of the region holding it. */
  'attribute_overrun',
  /** rta_len below the 4-byte attribute header size. */
  'bad_attribute_length',
  /** An attribute's payload is not the exact size of its type (e.g. a u32 of 2 bytes). */
  'bad_attribute_size',
  /** A string attribute without its terminating NUL. */
  'bad_string',
  /** An RTM_NEWLINK/RTM_DELLINK payload shorter than struct ifinfomsg (16 bytes). */
  'short_ifinfomsg',
  /** An NLMSG_ERROR payload shorter than its s32 error field. */
  'short_error',
  /** An RTM_NEWNSID/RTM_DELNSID payload shorter than its padded struct rtgenmsg (4 bytes). */
  'short_rtgenmsg',
  /** A message handed to a decoder for a different nlmsg_type (or genl command). */
  'unexpected_type',
  /** A generic netlink payload shorter than struct genlmsghdr (4 bytes). */
  'short_genlmsghdr',
  /** An attribute the message cannot be used without is absent (e.g. an ethtool reply's device index). */
  'missing_attribute',
  /** An ethtool bitset whose parts disagree (value length vs size, mask in a list, bit past size). */
  'bad_bitset',
] as const;
export type NetlinkDecodeReason = (typeof NETLINK_DECODE_REASONS)[number];

/** Bytes from the kernel (or something pretending to be it) that do not decode. */
export class NetlinkDecodeError extends Error {
  readonly code = 'NETLINK_DECODE' as const;
  override readonly name = 'NetlinkDecodeError';
  /** Byte offset of the offending header or attribute inside the datagram. */
  readonly offset: number;
  /** rta_type (flag bits masked off) of the offending attribute, when there is one. */
  readonly attributeType: number | undefined;

  constructor(
    readonly reason: NetlinkDecodeReason,
    offset: number,
    detail: string,
    attributeType?: number,
  ) {
    super(
      `netlink decode error (${reason}) at offset ${offset}` +
        (attributeType === undefined ? '' : `, attribute type ${attributeType}`) +
        `: ${detail}`,
    );
    this.offset = offset;
    this.attributeType = attributeType;
  }
}

/** The system call a NetlinkSocketError came from. Open-ended: other calls may be added. */
export type NetlinkSocketOperation =
  | 'socket'
  | 'bind'
  | 'setsockopt'
  | 'getsockopt'
  | 'getsockname'
  | 'recvmsg'
  | 'sendto'
  | 'poll'
  | 'close'
  | (string & {});

let errnoNames: Map<number, string> | undefined;

/** 'ENOBUFS' for 105, from Node's own table; undefined for numbers it does not know. */
export function errnoName(errno: number): string | undefined {
  if (errnoNames === undefined) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(osConstants.errno)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return errnoNames.get(errno);
}

/** A failed system call on one of the exporter's sockets: "<socket> <call> failed: ENAME (n): detail". */
export class SocketCallError<Operation extends string> extends Error {
  /** Symbolic errno ('ENOBUFS'), looked up from `errno` when not given. */
  readonly errnoName: string | undefined;

  constructor(
    socket: string,
    readonly operation: Operation,
    /** Positive errno value (e.g. 105 for ENOBUFS). */
    readonly errno: number,
    options: { errnoName?: string; cause?: unknown; detail?: string } = {},
  ) {
    const name = options.errnoName ?? errnoName(errno);
    super(
      `${socket} ${operation} failed: ${name ?? 'errno'} (${errno})` + (options.detail === undefined ? '' : `: ${options.detail}`),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.errnoName = name;
  }
}

/** A failed system call on the netlink socket. */
export class NetlinkSocketError extends SocketCallError<NetlinkSocketOperation> {
  readonly code = 'NETLINK_SOCKET' as const;
  override readonly name = 'NetlinkSocketError';

  constructor(operation: NetlinkSocketOperation, errno: number, options: { errnoName?: string; cause?: unknown; detail?: string } = {}) {
    super('netlink', operation, errno, options);
  }
}
