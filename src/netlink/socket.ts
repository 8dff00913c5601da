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
import {
  SOCKADDR_NL_SIZE,
  UV_POLL,
  UV_READABLE,
  allocNative,
  encodeSockaddrNl,
  freeNative,
  lastErrno,
  libc,
  uv,
  type NativeBlock,
} from './libc.js';
import { polled, uvCallbacks, type PollTarget } from './poll.js';
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

class LinkSocket implements NetlinkSocket, PollTarget {
  private readonly kernelAddress = encodeSockaddrNl(0, 0);
  private onEvents: ((events: ReceiveEvent[], drained: boolean) => void) | undefined;
  private handle: NativeBlock | undefined;
  private receiver: Receiver | undefined;
  private closing: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private fdOpen = true;
  /** The handle is polling (libuv stops it by itself when the fd reports POLLERR). */
  private polling = false;

  constructor(
    private readonly fd: number,
    readonly portId: number,
    readonly receiveBufferBytes: number,
    readonly receiveBufferMode: 'SO_RCVBUFFORCE' | 'SO_RCVBUF',
    private readonly datagramBytes: number,
    private readonly allNamespaces: boolean,
  ) {}

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
    const { poll } = uvCallbacks();
    const handle = allocNative(uv.handleSize(UV_POLL));
    const status = uv.pollInit(uv.defaultLoop(), handle.pointer, this.fd);
    if (status < 0) {
      freeNative(handle);
      throw socketError('poll', -status, 'uv_poll_init');
    }
    this.onEvents = onEvents;
    this.handle = handle;
    this.receiver = new Receiver(this.fd, this.datagramBytes, this.allNamespaces);
    polled.set(handle.address, this);
    uv.unref(handle.pointer); // an idle exporter may exit
    const started = uv.pollStart(handle.pointer, UV_READABLE, poll);
    if (started < 0) throw socketError('poll', -started, 'uv_poll_start');
    this.polling = true;
  }

  /**
   * The poll callback. It runs inside libuv's poll phase, outside any Node callback scope (Node
   * would not run the promise jobs and nextTicks it queued), so it only schedules the round, as an
   * immediate of the same loop iteration. The poll is level-triggered: data left after a bounded
   * round makes libuv call again on the next iteration.
   */
  onReadable(status: number): void {
    // libuv reports POLLERR as UV_EBADF and stops the handle. On a netlink socket POLLERR is a
    // pending ENOBUFS, which recvmsg returns (an overrun); a really bad fd fails recvmsg too.
    if (status < 0) this.polling = false;
    if (this.roundScheduled) return;
    this.roundScheduled = true;
    setImmediate(this.runRound);
  }

  private roundScheduled = false;

  /**
   * One bounded round, then back to the loop: receiver rounds (one recvmmsg each, handed to the
   * listener at once, as their views are of the receiver's reused buffer) until the socket is
   * empty, or ROUND_DATAGRAMS datagrams or ROUND_BYTES bytes have been received.
   */
  private readonly runRound = (): void => {
    this.roundScheduled = false;
    let datagrams = 0;
    let bytes = 0;
    while (datagrams + SLOTS <= ROUND_DATAGRAMS && bytes < ROUND_BYTES) {
      const receiver = this.receiver;
      const onEvents = this.onEvents;
      if (receiver === undefined || onEvents === undefined || this.closing !== undefined) return;
      const events = receiver.round();
      if (receiver.failed) {
        const handle = this.handle;
        if (handle !== undefined && this.polling) uv.pollStop(handle.pointer);
        this.polling = false;
        if (receiver.failedErrno === EBADF) this.fdOpen = false; // the number may be someone else's by now
      } else if (!this.polling && this.handle !== undefined) {
        const restarted = uv.pollStart(this.handle.pointer, UV_READABLE, uvCallbacks().poll);
        if (restarted < 0) events.push({ kind: 'error', error: socketError('poll', -restarted, 'uv_poll_start') });
        else this.polling = true;
      }
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
    if (!this.roundScheduled && this.closing === undefined) {
      roundObserver?.busy(performance.now());
      this.roundScheduled = true;
      setImmediate(this.runRound);
    }
  };

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private shutdown(): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) {
      this.finish();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
      // uv_close stops the poll at once; the memory of the handle is freed in its close callback.
      uv.close(handle.pointer, uvCallbacks().close);
    });
  }

  /** The close callback: like the poll callback, outside any Node callback scope. */
  onHandleClosed(): void {
    if (this.handle !== undefined) freeNative(this.handle);
    this.handle = undefined;
    this.finish();
    const resolve = this.resolveClosed;
    if (resolve !== undefined) setImmediate(resolve);
  }

  private finish(): void {
    this.receiver?.free();
    this.receiver = undefined;
    if (this.fdOpen) libc.close(this.fd);
    this.fdOpen = false;
  }
}
