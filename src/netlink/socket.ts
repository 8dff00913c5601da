// The netlink socket: the exporter's only edge to the kernel. It opens and binds the socket,
// sends requests synchronously (a sendto on a netlink socket never waits for the peer) and
// receives on the main thread, driven by a libuv poll handle on the default loop: when the fd is
// readable, one bounded round of non-blocking recvmsg calls is handed to the listener, and the
// loop gets its turn again (HTTP, timers) before the next round. No thread, no queue of our own:
// what arrives faster than it is handled waits in the kernel's receive buffer, which is bounded,
// and an overflow there (ENOBUFS) is reported as an overrun, which the monitor answers exactly
// with a resync dump.
//
// The poll handle is unref'd, so an idle exporter may exit; close() stops it and closes the fd.
import { quietRound, stormRound } from '../runtime/young-generation.js';
import { NetlinkSocketError, type NetlinkSocketOperation } from './errors.js';
import {
  AF_NETLINK,
  EAGAIN,
  EBADF,
  EINTR,
  ENOBUFS,
  EPERM,
  MSG_DONTWAIT,
  MSG_CTRUNC,
  MSG_TRUNC,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_LISTEN_ALL_NSID,
  NETLINK_ROUTE,
  NETNSA_NSID_NOT_ASSIGNED,
  NLMSG_DONE,
  NLMSG_ERROR,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
} from './constants.js';
import {
  IOVEC_OFFSETS,
  IOVEC_SIZE,
  MMSGHDR_LEN_OFFSET,
  MMSGHDR_SIZE,
  MSGHDR_OFFSETS,
  POINTER_SIZE,
  SOCKADDR_NL_SIZE,
  UV_POLL,
  UV_READABLE,
  allocNative,
  freeNative,
  lastErrno,
  libc,
  uv,
  writeWord,
  type NativeBlock,
} from './libc.js';

import { decodeMessages } from './message.js';
import { polled, uvCallbacks, type PollTarget } from './poll.js';
import type { NetlinkMessage } from './types.js';

export { configureAllocator, setNonBlocking } from './libc.js';

export type ReceiveEvent =
  /**
   * One datagram. `data` is a view of the socket's receive buffer, valid only until the listener
   * returns: decode it then, and copy whatever must outlive the call.
   */
  | {
      kind: 'datagram';
      data: Buffer;
      senderPid: number;
      truncated: boolean;
      /**
       * The nsid (in ours) of the namespace the datagram comes from, from the
       * NETLINK_LISTEN_ALL_NSID control message; NETNSA_NSID_NOT_ASSIGNED (-1) when it carried
       * none: our own namespace, and every unicast reply. Absent: the same as -1.
       */
      nsid?: number;
    }
  /** recvmsg failed with ENOBUFS: messages were lost. */
  | { kind: 'overrun' }
  /** Any other failure; the socket delivers nothing more. */
  | { kind: 'error'; error: NetlinkSocketError };

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

/** recvmsg buffer: kernel dump datagrams are capped at 32 KiB; twice that leaves room. */
const DEFAULT_DATAGRAM_BYTES = 64 * 1024;
/**
 * One round (one turn of the event loop) receives at most about this many datagrams or bytes,
 * then lets the loop serve HTTP before the next round. A round of small link notifications is
 * a few ms of work.
 */
const ROUND_DATAGRAMS = 256;
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

/** struct sockaddr_nl in host byte order. */
function encodeSockaddrNl(pid: number, groups: number): Buffer {
  const address = Buffer.alloc(SOCKADDR_NL_SIZE);
  new Uint16Array(address.buffer, address.byteOffset, 1)[0] = AF_NETLINK;
  const words = new Uint32Array(address.buffer, address.byteOffset, 3);
  words[1] = pid >>> 0;
  words[2] = groups >>> 0;
  return address;
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
      if (receiver.drained) quietRound(performance.now());
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
      stormRound(performance.now());
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

/**
 * recvmmsg(MSG_DONTWAIT) in rounds of up to SLOTS datagrams into one native buffer, allocated
 * once: slot i of the round receives into bytes [i * datagramBytes, (i + 1) * datagramBytes), and
 * the events hand out views of it. One call receives many datagrams: a storm's notifications are
 * one datagram each, and a call through koffi costs microseconds of its own, so one recvmsg per
 * datagram was most of a storm's receive cost.
 */
class Receiver {
  failed = false;
  /** The last round ended at EAGAIN: the receive queue was empty. */
  drained = false;
  failedErrno = 0;
  private readonly staging: NativeBlock;
  private readonly names: NativeBlock;
  private readonly iovs: NativeBlock;
  private readonly vec: NativeBlock;
  private readonly vecWords: Int32Array;
  private readonly nameWords: Uint32Array;
  /** Room for the NETLINK_LISTEN_ALL_NSID control message of each slot, when the socket asked for it. */
  private readonly controls: NativeBlock | undefined;
  private readonly slots: number;

  constructor(
    private readonly fd: number,
    private readonly datagramBytes: number,
    allNamespaces: boolean,
    slots: number = SLOTS,
  ) {
    this.slots = slots;
    // Read only within the length recvmmsg returns for each slot: not zeroed (see allocNative).
    this.staging = allocNative(slots * datagramBytes, { zero: false });
    this.names = allocNative(slots * NAME_STRIDE);
    this.iovs = allocNative(slots * IOVEC_SIZE);
    this.vec = allocNative(slots * MMSGHDR_SIZE);
    this.controls = allNamespaces ? allocNative(slots * CONTROL_BYTES) : undefined;
    for (let i = 0; i < slots; i++) {
      const iov = i * IOVEC_SIZE;
      writeWord(this.iovs.view, iov + IOVEC_OFFSETS.base, this.staging.address + BigInt(i * datagramBytes));
      writeWord(this.iovs.view, iov + IOVEC_OFFSETS.len, BigInt(datagramBytes));
      const msg = i * MMSGHDR_SIZE;
      writeWord(this.vec.view, msg + MSGHDR_OFFSETS.name, this.names.address + BigInt(i * NAME_STRIDE));
      writeWord(this.vec.view, msg + MSGHDR_OFFSETS.iov, this.iovs.address + BigInt(iov));
      writeWord(this.vec.view, msg + MSGHDR_OFFSETS.iovlen, 1n);
      if (this.controls !== undefined) writeWord(this.vec.view, msg + MSGHDR_OFFSETS.control, this.controls.address + BigInt(i * CONTROL_BYTES));
    }
    this.vecWords = new Int32Array(this.vec.view.buffer, this.vec.view.byteOffset, (slots * MMSGHDR_SIZE) >> 2);
    this.nameWords = new Uint32Array(this.names.view.buffer, this.names.view.byteOffset, (slots * NAME_STRIDE) >> 2);
  }

  /** Receives until EAGAIN or every slot is full. */
  round(): ReceiveEvent[] {
    const events: ReceiveEvent[] = [];
    const { fd, datagramBytes, vecWords, nameWords, slots } = this;
    const stride = MMSGHDR_SIZE >> 2;
    const namelen = MSGHDR_OFFSETS.namelen >> 2;
    const controllen = MSGHDR_OFFSETS.controllen >> 2;
    const flags = MSGHDR_OFFSETS.flags >> 2;
    const len = MMSGHDR_LEN_OFFSET >> 2;
    const controls = this.controls;
    let used = 0;
    this.drained = false;
    while (used < slots) {
      // What the kernel wrote back last time (lengths, flags) is reset for the slots asked for.
      for (let i = used; i < slots; i++) {
        const at = i * stride;
        vecWords[at + namelen] = SOCKADDR_NL_SIZE;
        // msg_controllen is a size_t: its low 32 bits (little-endian) hold a 64-byte length.
        vecWords[at + controllen] = controls === undefined ? 0 : CONTROL_BYTES;
        vecWords[at + flags] = 0;
      }
      const n = libc.recvmmsg(fd, this.vec.address + BigInt(used * MMSGHDR_SIZE), slots - used, MSG_DONTWAIT, null);
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EAGAIN) {
          this.drained = true;
          break;
        }
        if (errno === EINTR) continue;
        if (errno === ENOBUFS) {
          events.push({ kind: 'overrun' });
          continue;
        }
        this.failed = true;
        this.failedErrno = errno;
        events.push({ kind: 'error', error: socketError('recvmsg', errno) });
        break;
      }
      if (n === 0) {
        // Not seen from a netlink socket; taken as empty rather than asked again forever.
        this.drained = true;
        break;
      }
      for (let i = used; i < used + n; i++) {
        const at = i * stride;
        const length = Math.min(vecWords[at + len] ?? 0, datagramBytes);
        const start = i * datagramBytes;
        events.push({
          kind: 'datagram',
          data: this.staging.view.subarray(start, start + length),
          senderPid: nameWords[i * (NAME_STRIDE >> 2) + 1] ?? 0,
          // MSG_CTRUNC too: a datagram whose nsid was cut off cannot be told from our own.
          truncated: ((vecWords[at + flags] ?? 0) & (MSG_TRUNC | MSG_CTRUNC)) !== 0,
          nsid:
            controls === undefined
              ? NETNSA_NSID_NOT_ASSIGNED
              : nsidFromControl(controls.view, Math.min(vecWords[at + controllen] ?? 0, CONTROL_BYTES), i * CONTROL_BYTES),
        });
      }
      used += n;
    }
    return events;
  }

  free(): void {
    for (const block of [this.staging, this.names, this.iovs, this.vec]) freeNative(block);
    if (this.controls !== undefined) freeNative(this.controls);
  }
}

/** Datagrams per recvmmsg call (and per listener call). */
const SLOTS = 16;
/** struct sockaddr_nl (12 bytes) per slot, at a 16-byte stride. */
const NAME_STRIDE = 16;

/** Control buffer: one cmsghdr (16 bytes on 64-bit) and its int, with room to spare. */
const CONTROL_BYTES = 64;

/**
 * Walks the control messages (struct cmsghdr { size_t len; int level; int type; } + data, each
 * aligned to a size_t) of `length` bytes from `base` and returns the int of the
 * NETLINK_LISTEN_ALL_NSID one, or -1.
 */
export function nsidFromControl(control: Buffer, length: number, base = 0): number {
  const header = POINTER_SIZE + 8;
  let offset = 0;
  while (offset + header <= length) {
    const at = base + offset;
    const len = POINTER_SIZE === 8 ? Number(control.readBigUInt64LE(at)) : control.readUInt32LE(at);
    if (len < header || offset + len > length) break;
    const level = control.readInt32LE(at + POINTER_SIZE);
    const type = control.readInt32LE(at + POINTER_SIZE + 4);
    if (level === SOL_NETLINK && type === NETLINK_LISTEN_ALL_NSID && len >= header + 4) return control.readInt32LE(at + header);
    offset += len + ((POINTER_SIZE - (len % POINTER_SIZE)) % POINTER_SIZE);
  }
  return NETNSA_NSID_NOT_ASSIGNED;
}

// ---- requests answered at once: a socket of its own, no poll handle ----

export interface RequestSocket {
  /**
   * Sends one request (its nlmsg_seq must be `seq`) and returns every message that answers it, in
   * order, up to and including the NLMSG_DONE of a dump or the NLMSG_ERROR (error or ACK) that
   * ends any other request (send those with NLM_F_ACK). The kernel answers a rtnetlink request
   * while sendto runs and fills in a dump's next part while recvmsg runs, so nothing here waits:
   * an answer that is not there when asked for is a failure (NetlinkSocketError 'recvmsg').
   */
  request(bytes: Buffer, seq: number): NetlinkMessage[];
  close(): void;
}

/** A request's answers are few datagrams: four slots (256 KiB) are enough. */
const REQUEST_SLOTS = 4;

/** The longest answer request() collects: a guard against a kernel that never says DONE. */
const MAX_REQUEST_DATAGRAMS = 4096;

/** Opens a NETLINK_ROUTE socket bound to no group, for request(). Throws NetlinkSocketError. */
export function openRequestSocket(): RequestSocket {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw socketError('socket', lastErrno());
  let receiver: Receiver | undefined;
  try {
    if (libc.bind(fd, encodeSockaddrNl(0, 0), SOCKADDR_NL_SIZE) < 0) throw socketError('bind', lastErrno());
    receiver = new Receiver(fd, DEFAULT_DATAGRAM_BYTES, false, REQUEST_SLOTS);
  } catch (error) {
    libc.close(fd);
    throw error;
  }
  const kernel = encodeSockaddrNl(0, 0);
  let open = true;
  const rx = receiver;
  return {
    request(bytes, seq) {
      if (!open) throw socketError('sendto', EBADF, 'socket closed');
      for (;;) {
        if (libc.sendto(fd, bytes, bytes.length, 0, kernel, SOCKADDR_NL_SIZE) >= 0) break;
        const errno = lastErrno();
        if (errno !== EINTR) throw socketError('sendto', errno);
      }
      const answer: NetlinkMessage[] = [];
      for (let datagrams = 0; datagrams < MAX_REQUEST_DATAGRAMS; ) {
        const events = rx.round();
        for (const event of events) {
          if (event.kind === 'overrun') continue;
          if (event.kind === 'error') throw event.error;
          datagrams++;
          if (event.senderPid !== 0 || event.truncated) continue;
          // Copied: the receiver's buffer is reused by its next round.
          for (const msg of decodeMessages(Buffer.from(event.data))) {
            if (msg.seq !== seq) continue;
            answer.push(msg);
            if (msg.type === NLMSG_DONE || msg.type === NLMSG_ERROR) return answer;
          }
        }
        if (rx.drained) throw socketError('recvmsg', EAGAIN, 'no answer to the request');
      }
      throw socketError('recvmsg', EAGAIN, 'answer without an end');
    },
    close() {
      if (!open) return;
      open = false;
      rx.free();
      libc.close(fd);
    },
  };
}
