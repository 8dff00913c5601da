// Receiving from a netlink socket: recvmmsg(MSG_DONTWAIT) in rounds into one native buffer, each
// datagram handed out as a ReceiveEvent with its sender, MSG_TRUNC and (NETLINK_LISTEN_ALL_NSID)
// the nsid it came from. Used by the polled socket (socket.ts) and the request socket
// (request-socket.ts).

import { NetlinkSocketError } from './errors.js';
import {
  EAGAIN,
  EINTR,
  ENOBUFS,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_TRUNC,
  NETLINK_LISTEN_ALL_NSID,
  NETNSA_NSID_NOT_ASSIGNED,
  SOL_NETLINK,
} from './constants.js';
import {
  IOVEC_OFFSETS,
  IOVEC_SIZE,
  MMSGHDR_LEN_OFFSET,
  MMSGHDR_SIZE,
  MSGHDR_OFFSETS,
  POINTER_SIZE,
  SOCKADDR_NL_SIZE,
  allocNative,
  freeNative,
  lastErrno,
  libc,
  writeWord,
  type NativeBlock,
} from './libc.js';

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

/** recvmsg buffer: kernel dump datagrams are capped at 32 KiB; twice that leaves room. */
export const DEFAULT_DATAGRAM_BYTES = 64 * 1024;

/**
 * recvmmsg(MSG_DONTWAIT) in rounds of up to SLOTS datagrams into one native buffer, allocated
 * once: slot i of the round receives into bytes [i * datagramBytes, (i + 1) * datagramBytes), and
 * the events hand out views of it. One call receives many datagrams: a storm's notifications are
 * one datagram each, and a call through koffi costs microseconds of its own, so one recvmsg per
 * datagram was most of a storm's receive cost.
 */
export class Receiver {
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
        events.push({ kind: 'error', error: new NetlinkSocketError('recvmsg', errno) });
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
export const SLOTS = 16;
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
