// The netlink socket: the exporter's only edge to the kernel. It opens and binds the socket,
// sends requests synchronously (a sendto on a netlink socket never waits for the peer) and
// receives on the main thread, driven by a libuv poll handle on the default loop: when the fd is
// readable, one bounded round of non-blocking recvmsg calls (receiver.ts) is handed to the
// listener, and the loop gets its turn again (HTTP, timers) before the next round. No thread, no
// queue of our own: what arrives faster than it is handled waits in the kernel's receive buffer,
// which is bounded, and an overflow there (ENOBUFS) is reported as an overrun, which the monitor
// answers exactly with a resync dump. Requests answered at once, without a poll handle: request-socket.ts.
//
// The poll handle is unref'd, so an idle exporter may exit; close() stops it and closes the fd.
import { NetlinkSocketError, type NetlinkSocketOperation } from './errors.js';
import {
  AF_NETLINK,
  EBADF,
  EINTR,
  EPERM,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_LISTEN_ALL_NSID,
  NETLINK_ROUTE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
} from './constants.js';
import { SOCKADDR_NL_SIZE, encodeSockaddrNl, lastErrno, libc } from './libc.js';
import { PolledSocket } from './poll.js';
import { DEFAULT_DATAGRAM_BYTES, Receiver, SLOTS, type ReceiveEvent } from './receiver.js';

export { configureAllocator, setNonBlocking } from './libc.js';
export type { ReceiveEvent } from './receiver.js';

export interface NetlinkSocket {
  readonly portId: number;
  /** What the kernel granted (getsockopt SO_RCVBUF: the kernel doubles the request for overhead). */
  readonly receiveBufferBytes: number;
  readonly receiveBufferMode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF';
  /** sendto the kernel (nl_pid 0); throws NetlinkSocketError. */
  send(bytes: Buffer): void;
  /** Joins a multicast group by number (NETLINK_ADD_MEMBERSHIP), e.g. a generic netlink family's group id. */
  addMembership(group: number): void;
  /**
   * Begin receiving; events in kernel order, in bounded batches. `drained` is true when the batch
   * ended because the socket had nothing more (recvmsg said EAGAIN): only then is the kernel's
   * overflow state known to be clear (see NetlinkSocket.start's caller in rtnetlink/link-monitor.ts). Call once.
   */
  start(onEvents: (events: ReceiveEvent[], drained: boolean) => void): void;
  /** Stop receiving and close the fd; idempotent. */
  close(): Promise<void>;
}

export interface OpenLinkSocketOptions {
  /** Receive buffer to ask for, in bytes (the kernel grants twice this, within its limits). */
  readonly receiveBufferBytes: number;
  /** Multicast groups as the legacy nl_groups bitmask, e.g. RTMGRP_LINK (0 for none). */
  readonly groups: number;
  /** Netlink protocol (default NETLINK_ROUTE; NETLINK_GENERIC for ethtool). */
  readonly protocol?: number;
  /** Bytes per recvmsg (default 64 KiB; dump datagrams are at most 32 KiB). */
  readonly datagramBytes?: number;
  /**
   * NETLINK_LISTEN_ALL_NSID: also receive the groups' messages from every namespace that has an
   * nsid in ours, each datagram telling its nsid (needs CAP_NET_BROADCAST).
   */
  readonly allNamespaces?: boolean;
}

/**
 * One round (one turn of the event loop) receives at most about this many datagrams or bytes,
 * then lets the loop serve HTTP before the next round. A round of small link notifications is
 * a few ms of work.
 */
const ROUND_DATAGRAMS = 256;

/** Told of every socket's receive rounds (the wiring tunes V8's young generation by them). */
export interface ReceiveRoundObserver {
  /** A round ended on its bound: more is queued, a storm is on. */
  busy(nowMs: number): void;
  /** A round read the socket empty. */
  drained(nowMs: number): void;
}

let roundObserver: ReceiveRoundObserver | undefined;

/** Sets the one observer of every socket's receive rounds; undefined removes it. */
export function observeReceiveRounds(observer: ReceiveRoundObserver | undefined): void {
  roundObserver = observer;
}
const ROUND_BYTES = 1024 * 1024;

/** Opens an AF_NETLINK socket (NETLINK_ROUTE unless told otherwise) bound to `groups`. Throws NetlinkSocketError. */
export function openLinkSocket(opts: OpenLinkSocketOptions): NetlinkSocket {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, opts.protocol ?? NETLINK_ROUTE);
  if (fd < 0) throw socketError('socket', lastErrno());
  try {
    const { mode, granted } = setReceiveBuffer(fd, opts.receiveBufferBytes);
    if (opts.allNamespaces === true) setIntOption(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, 1, 'NETLINK_LISTEN_ALL_NSID');
    const address = encodeSockaddrNl(0, opts.groups);
    if (libc.bind(fd, address, SOCKADDR_NL_SIZE) < 0) throw socketError('bind', lastErrno());
    const portId = readPortId(fd);
    return new LinkSocket(fd, portId, granted, mode, opts.datagramBytes ?? DEFAULT_DATAGRAM_BYTES, opts.allNamespaces === true);
  } catch (error) {
    libc.close(fd);
    throw error;
  }
}

function socketError(operation: NetlinkSocketOperation, errno: number, detail?: string): NetlinkSocketError {
  return new NetlinkSocketError(operation, errno, detail === undefined ? {} : { detail });
}

function setIntOption(fd: number, level: number, name: number, value: number, label: string): void {
  if (libc.setsockopt(fd, level, name, asBuffer(new Int32Array([value])), 4) < 0) throw socketError('setsockopt', lastErrno(), label);
}

function setReceiveBuffer(fd: number, bytes: number): { mode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF'; granted: number } {
  const native = asBuffer(new Int32Array([Math.min(Math.max(0, Math.floor(bytes)), 0x3fffffff)]));
  let mode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF' = 'SO_RCVBUFFORCE';
  if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, native, 4) < 0) {
    const errno = lastErrno();
    if (errno !== EPERM) throw socketError('setsockopt', errno, 'SO_RCVBUFFORCE');
    mode = 'SO_RCVBUF';
    if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, native, 4) < 0) {
      throw socketError('setsockopt', lastErrno(), 'SO_RCVBUF');
    }
  }
  const granted = new Int32Array(1);
  const length = new Uint32Array([4]);
  if (libc.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, asBuffer(granted), asBuffer(length)) < 0) {
    throw socketError('getsockopt', lastErrno(), 'SO_RCVBUF');
  }
  return { mode, granted: granted[0] ?? 0 };
}

function readPortId(fd: number): number {
  const address = Buffer.alloc(SOCKADDR_NL_SIZE);
  const length = new Uint32Array([SOCKADDR_NL_SIZE]);
  if (libc.getsockname(fd, address, asBuffer(length)) < 0) throw socketError('getsockname', lastErrno());
  return new Uint32Array(address.buffer, address.byteOffset, 3)[1] ?? 0;
}

function asBuffer(array: Int32Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

// ---- readiness: one poll callback and one close callback for every socket (poll.ts) ----

class LinkSocket extends PolledSocket implements NetlinkSocket {
  private readonly kernelAddress = encodeSockaddrNl(0, 0);
  private onEvents: ((events: ReceiveEvent[], drained: boolean) => void) | undefined;
  private receiver: Receiver | undefined;

  constructor(
    fd: number,
    readonly portId: number,
    readonly receiveBufferBytes: number,
    readonly receiveBufferMode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF',
    private readonly datagramBytes: number,
    private readonly allNamespaces: boolean,
  ) {
    super(fd);
  }

  send(bytes: Buffer): void {
    if (this.closing !== undefined) throw socketError('sendto', EBADF, 'socket closed');
    for (;;) {
      const sent = libc.sendto(this.fd, bytes, bytes.length, 0, this.kernelAddress, SOCKADDR_NL_SIZE);
      if (sent >= 0) return;
      const errno = lastErrno();
      if (errno !== EINTR) throw socketError('sendto', errno);
    }
  }

  addMembership(group: number): void {
    if (this.closing !== undefined) throw socketError('setsockopt', EBADF, 'socket closed');
    const value = asBuffer(new Uint32Array([group >>> 0]));
    if (libc.setsockopt(this.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, value, 4) < 0) {
      throw socketError('setsockopt', lastErrno(), 'NETLINK_ADD_MEMBERSHIP');
    }
  }

  start(onEvents: (events: ReceiveEvent[], drained: boolean) => void): void {
    if (this.closing !== undefined) throw socketError('poll', EBADF, 'socket closed');
    if (this.onEvents !== undefined) throw new Error('NetlinkSocket.start() called twice');
    this.onEvents = onEvents;
    this.receiver = new Receiver(this.fd, this.datagramBytes, this.allNamespaces);
    const { status, which } = this.startPolling();
    if (status < 0) throw socketError('poll', -status, which);
  }

  // libuv reports POLLERR as UV_EBADF and stops the handle (PolledSocket.onReadable). On a
  // netlink socket POLLERR is a pending ENOBUFS, which recvmsg returns (an overrun); a really bad
  // fd fails recvmsg too.

  /**
   * One bounded round, then back to the loop: receiver rounds (one recvmmsg each, handed to the
   * listener at once, as their views are of the receiver's reused buffer) until the socket is
   * empty, or ROUND_DATAGRAMS datagrams or ROUND_BYTES bytes have been received.
   */
  protected round(): void {
    let datagrams = 0;
    let bytes = 0;
    while (datagrams + SLOTS <= ROUND_DATAGRAMS && bytes < ROUND_BYTES) {
      const receiver = this.receiver;
      const onEvents = this.onEvents;
      if (receiver === undefined || onEvents === undefined || this.closing !== undefined) return;
      const events = receiver.round();
      const restart = this.afterReceive(receiver.failed ? receiver.failedErrno : undefined);
      if (restart < 0) events.push({ kind: 'error', error: socketError('poll', -restart, 'uv_poll_start') });
      if (events.length > 0 || receiver.drained) onEvents(events, receiver.drained);
      if (receiver.drained) roundObserver?.drained(performance.now());
      if (receiver.failed || receiver.drained || events.length === 0) return;
      for (const event of events) {
        if (event.kind !== 'datagram') continue;
        datagrams++;
        bytes += event.data.length;
      }
    }
    // The round ended on its bound, not at EAGAIN: go on at the next turn of the loop whether or
    // not the poll reports the fd readable again. The queue may have run dry exactly now, and
    // only a round that reads it empty says so (drained), which the monitor waits for after an
    // overrun before it asks for the resync.
    if (this.scheduleRound()) roundObserver?.busy(performance.now());
  }

  protected freeReader(): void {
    this.receiver?.free();
    this.receiver = undefined;
  }
}
