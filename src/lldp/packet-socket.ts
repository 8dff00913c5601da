// The LLDP packet socket: one AF_PACKET/SOCK_RAW socket for ethertype 0x88cc on every link of the
// exporter's own namespace. It only receives: nothing here sends. Like the netlink socket
// (src/netlink/socket.ts) it is non-blocking and driven by a libuv poll handle on the default
// loop: when the fd is readable, one bounded round of recvmmsg calls is handed to the listener,
// and the loop gets its turn (HTTP, timers, netlink) before the next round. What arrives faster
// waits in the kernel's receive buffer, which is bounded; what overflows it the kernel counts
// (takeKernelDrops).
//
// The LLDP multicast address is joined per link (PACKET_ADD_MEMBERSHIP), which programs the
// link's multicast filter (`ip maddr` shows it). Whether frames to it arrive without the
// membership depends on the device: veth and tap deliver every frame whatever the filter, a
// macvlan or a NIC with a hardware filter only what the filter lets through (a macvlan on Linux
// 6.18 goes on letting them through after the membership is dropped again).
//
// Frames this host sends are never read back: the kernel hands outgoing frames only to packet
// sockets of ETH_P_ALL (dev_queue_xmit_nit), not to one bound to a protocol.
//
// Needs CAP_NET_RAW: open() throws LldpSocketError with errno EPERM without it.
import { SocketCallError } from '../netlink/errors.js';
import {
  MMSGHDR_LEN_OFFSET,
  MMSGHDR_SIZE,
  MSGHDR_OFFSETS,
  SOCKADDR_LL_SIZE,
  lastErrno,
  libc,
  type NativeBlock,
} from '../netlink/libc.js';
import { EADDRNOTAVAIL, EAGAIN, EBADF, EINTR, ENODEV, MSG_DONTWAIT, MSG_TRUNC, SOCK_CLOEXEC, SOCK_RAW, SOL_SOCKET, SO_RCVBUF } from '../netlink/constants.js';
import { MmsgVector } from '../netlink/mmsg-vector.js';
import { PolledSocket } from '../netlink/poll.js';

export const AF_PACKET = 17;
export const ETH_P_LLDP = 0x88cc;
const SOL_PACKET = 263;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_DROP_MEMBERSHIP = 2;
const PACKET_STATISTICS = 6;
const PACKET_MR_MULTICAST = 0;
const ETH_HLEN = 14;

/** The nearest-bridge address LLDP is sent to (802.1AB), joined on every link. */
export const LLDP_MULTICAST = '01:80:c2:00:00:0e';
const LLDP_MULTICAST_BYTES = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
/** The three group addresses 802.1AB lets an LLDP agent use (nearest bridge, non-TPMR, customer bridge). */
const LLDP_DESTINATIONS: ReadonlySet<string> = new Set([LLDP_MULTICAST, '01:80:c2:00:00:03', '01:80:c2:00:00:00']);

/** True for a destination an LLDPDU may be sent to; the caller drops the rest as 'not_lldp'. */
export function isLldpDestination(destination: string): boolean {
  return LLDP_DESTINATIONS.has(destination);
}

export interface LldpFrame {
  /** The link it arrived on (sll_ifindex). */
  ifindex: number;
  /** Source MAC, aa:bb:cc:dd:ee:ff. */
  source: string;
  /** Destination MAC; '' for a frame shorter than an Ethernet header. */
  destination: string;
  /** The LLDPDU: the frame after its 14-byte Ethernet header (a copy, the caller may keep it). */
  payload: Buffer;
  /** The frame was longer than the receive slot (frameBytes) and is cut: drop it. */
  truncated: boolean;
}

export type LldpSocketOperation = 'socket' | 'setsockopt' | 'getsockopt' | 'bind' | 'recvmsg' | 'poll';

/** A failed system call on the packet socket. */
export class LldpSocketError extends SocketCallError<LldpSocketOperation> {
  readonly code = 'LLDP_SOCKET' as const;
  override readonly name = 'LldpSocketError';

  /** `errno` is positive (EPERM = 1 without CAP_NET_RAW). */
  constructor(operation: LldpSocketOperation, errno: number, detail?: string) {
    super('packet socket', operation, errno, { detail });
  }
}

export interface LldpPacketSocketOptions {
  /** SO_RCVBUF to ask for (the kernel grants twice this, within net.core.rmem_max); default: the kernel's. */
  readonly receiveBufferBytes?: number;
  /** Bytes per received frame; longer frames arrive cut and marked truncated. Default 9216 (jumbo). */
  readonly frameBytes?: number;
  /** Frames per round (one listener call); default 256. */
  readonly roundFrames?: number;
}

const DEFAULT_FRAME_BYTES = 9216;
const DEFAULT_ROUND_FRAMES = 256;
/** Frames per recvmmsg call. */
const SLOTS = 16;
/** struct sockaddr_ll (20 bytes) per slot, at a 24-byte stride. */
const NAME_STRIDE = 24;

const HEX = '0123456789abcdef';
function macAt(buf: Buffer, at: number): string {
  let text = '';
  for (let i = 0; i < 6; i++) {
    const b = buf[at + i] as number;
    text += (i === 0 ? '' : ':') + HEX[b >> 4] + HEX[b & 15];
  }
  return text;
}

function asBuffer(array: Int32Array | Uint32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** struct sockaddr_ll bound to ETH_P_LLDP on every link (ifindex 0). */
function sockaddrLl(protocol: number): Buffer {
  const address = Buffer.alloc(SOCKADDR_LL_SIZE);
  address.writeUInt16LE(AF_PACKET, 0); // host order (x86, arm64: little-endian)
  address.writeUInt16BE(protocol, 2); // network order
  return address;
}

/** struct packet_mreq { int mr_ifindex; u16 mr_type; u16 mr_alen; u8 mr_address[8]; } */
function packetMreq(ifindex: number): Buffer {
  const mreq = Buffer.alloc(16);
  new Int32Array(mreq.buffer, mreq.byteOffset, 1)[0] = ifindex;
  new Uint16Array(mreq.buffer, mreq.byteOffset + 4, 2).set([PACKET_MR_MULTICAST, 6]);
  mreq.set(LLDP_MULTICAST_BYTES, 8);
  return mreq;
}

export class LldpPacketSocket extends PolledSocket {
  private readonly joined = new Set<number>();
  private listener: ((frames: readonly LldpFrame[]) => void) | undefined;
  private onError: ((error: LldpSocketError) => void) | undefined;
  /** The failure that stopped receiving, if one did. */
  failure: LldpSocketError | undefined;
  private receiver: FrameReceiver | undefined;

  private constructor(
    fd: number,
    private readonly frameBytes: number,
    private readonly roundFrames: number,
  ) {
    super(fd);
  }

  /** Opens the socket in the calling thread's network namespace. Throws LldpSocketError (EPERM without CAP_NET_RAW). */
  static open(opts: LldpPacketSocketOptions = {}): LldpPacketSocket {
    // htons(ETH_P_LLDP) as the protocol: frames of that ethertype only, from the moment of creation
    const fd = libc.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, ((ETH_P_LLDP & 0xff) << 8) | (ETH_P_LLDP >> 8));
    if (fd < 0) throw new LldpSocketError('socket', lastErrno());
    try {
      if (opts.receiveBufferBytes !== undefined) {
        const bytes = Math.min(Math.max(0, Math.floor(opts.receiveBufferBytes)), 0x3fffffff);
        if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, asBuffer(new Int32Array([bytes])), 4) < 0) {
          throw new LldpSocketError('setsockopt', lastErrno(), 'SO_RCVBUF');
        }
      }
      const address = sockaddrLl(ETH_P_LLDP);
      if (libc.bind(fd, address, SOCKADDR_LL_SIZE) < 0) throw new LldpSocketError('bind', lastErrno());
      return new LldpPacketSocket(fd, opts.frameBytes ?? DEFAULT_FRAME_BYTES, Math.max(SLOTS, opts.roundFrames ?? DEFAULT_ROUND_FRAMES));
    } catch (error) {
      libc.close(fd);
      throw error;
    }
  }

  /** Joins 01:80:c2:00:00:0e on the link (idempotent). Throws LldpSocketError (ENODEV for no such link). */
  join(ifindex: number): void {
    if (this.closing !== undefined) throw new LldpSocketError('setsockopt', EBADF, 'socket closed');
    if (this.joined.has(ifindex)) return;
    if (libc.setsockopt(this.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, packetMreq(ifindex), 16) < 0) {
      throw new LldpSocketError('setsockopt', lastErrno(), `PACKET_ADD_MEMBERSHIP ifindex ${ifindex}`);
    }
    this.joined.add(ifindex);
  }

  /** Leaves it again; a link that is gone (the kernel dropped the membership with it) is no error. */
  leave(ifindex: number): void {
    if (!this.joined.delete(ifindex) || this.closing !== undefined) return;
    if (libc.setsockopt(this.fd, SOL_PACKET, PACKET_DROP_MEMBERSHIP, packetMreq(ifindex), 16) < 0) {
      const errno = lastErrno();
      if (errno !== ENODEV && errno !== EADDRNOTAVAIL) {
        throw new LldpSocketError('setsockopt', errno, `PACKET_DROP_MEMBERSHIP ifindex ${ifindex}`);
      }
    }
  }

  /** The links joined, in join order. */
  joinedLinks(): number[] {
    return [...this.joined];
  }

  /**
   * Frames the kernel dropped for a full receive buffer since the last call (PACKET_STATISTICS,
   * which resets on read).
   */
  takeKernelDrops(): number {
    if (this.closing !== undefined) return 0;
    const stats = new Uint32Array(2); // struct tpacket_stats { tp_packets; tp_drops; }
    const length = new Uint32Array([8]);
    if (libc.getsockopt(this.fd, SOL_PACKET, PACKET_STATISTICS, asBuffer(stats), asBuffer(length)) < 0) {
      throw new LldpSocketError('getsockopt', lastErrno(), 'PACKET_STATISTICS');
    }
    return stats[1] ?? 0;
  }

  /**
   * Begins receiving: the listener gets the frames of each bounded round, in arrival order. A
   * failing recvmmsg (not EAGAIN/EINTR) stops receiving and goes to onError (and `failure`),
   * never thrown from the loop. Call once.
   */
  start(listener: (frames: readonly LldpFrame[]) => void, onError?: (error: LldpSocketError) => void): void {
    if (this.closing !== undefined) throw new LldpSocketError('poll', EBADF, 'socket closed');
    if (this.listener !== undefined) throw new Error('LldpPacketSocket.start() called twice');
    this.listener = listener;
    this.onError = onError;
    this.receiver = new FrameReceiver(this.fd, this.frameBytes);
    const { status, which } = this.startPolling();
    if (status < 0) throw new LldpSocketError('poll', -status, which);
  }

  /** One bounded round: recvmmsg calls until the socket is empty or roundFrames were read. */
  protected round(): void {
    const receiver = this.receiver;
    const listener = this.listener;
    if (receiver === undefined || listener === undefined) return;
    const frames: LldpFrame[] = [];
    let error: LldpSocketError | undefined;
    while (frames.length + SLOTS <= this.roundFrames) {
      const got = receiver.receive(frames);
      if (got.error !== undefined) error = got.error;
      if (got.drained || got.error !== undefined) break;
    }
    const drained = receiver.drained;
    this.afterReceive(error?.errno);
    if (frames.length > 0) listener(frames);
    if (error !== undefined) {
      this.failure = error;
      this.onError?.(error);
      return;
    }
    // ended on its bound: go on at the next turn of the loop
    if (!drained) this.scheduleRound();
  }

  /** Stops receiving and closes the fd (its memberships go with it); idempotent. */
  override close(): Promise<void> {
    this.joined.clear();
    return super.close();
  }

  protected freeReader(): void {
    this.receiver?.free();
    this.receiver = undefined;
  }
}

/** recvmmsg(MSG_DONTWAIT) of up to SLOTS frames into native memory allocated once. */
class FrameReceiver {
  /** The last call ended at EAGAIN: the receive queue was empty. */
  drained = false;
  private readonly staging: NativeBlock;
  private readonly names: NativeBlock;
  private readonly mmsg: MmsgVector;
  private readonly vec: NativeBlock;
  private readonly vecWords: Int32Array;

  constructor(
    private readonly fd: number,
    private readonly frameBytes: number,
  ) {
    this.mmsg = new MmsgVector(SLOTS, frameBytes, NAME_STRIDE);
    ({ staging: this.staging, names: this.names, vec: this.vec, words: this.vecWords } = this.mmsg);
  }

  /** One recvmmsg: appends the frames to `out`. */
  receive(out: LldpFrame[]): { drained: boolean; error?: LldpSocketError } {
    const { vecWords, frameBytes } = this;
    const stride = MMSGHDR_SIZE >> 2;
    const namelen = MSGHDR_OFFSETS.namelen >> 2;
    const flags = MSGHDR_OFFSETS.flags >> 2;
    const len = MMSGHDR_LEN_OFFSET >> 2;
    for (let i = 0; i < SLOTS; i++) {
      vecWords[i * stride + namelen] = SOCKADDR_LL_SIZE;
      vecWords[i * stride + flags] = 0;
    }
    this.drained = false;
    let n: number;
    for (;;) {
      n = libc.recvmmsg(this.fd, this.vec.address, SLOTS, MSG_DONTWAIT, null);
      if (n >= 0) break;
      const errno = lastErrno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN) {
        this.drained = true;
        return { drained: true };
      }
      return { drained: false, error: new LldpSocketError('recvmsg', errno) };
    }
    if (n === 0) {
      this.drained = true;
      return { drained: true };
    }
    const names = this.names.view;
    const staging = this.staging.view;
    for (let i = 0; i < n; i++) {
      const at = i * stride;
      const name = i * NAME_STRIDE;
      // struct sockaddr_ll: family u16, protocol u16, ifindex int @4, hatype u16 @8, pkttype u8 @10
      const ifindex = names.readInt32LE(name + 4);
      const length = Math.min(vecWords[at + len] ?? 0, frameBytes);
      const start = i * frameBytes;
      const truncated = ((vecWords[at + flags] ?? 0) & MSG_TRUNC) !== 0;
      if (length < ETH_HLEN) {
        out.push({ ifindex, source: '', destination: '', payload: Buffer.alloc(0), truncated });
        continue;
      }
      out.push({
        ifindex,
        destination: macAt(staging, start),
        source: macAt(staging, start + 6),
        payload: Buffer.from(staging.subarray(start + ETH_HLEN, start + length)),
        truncated,
      });
    }
    return { drained: false };
  }

  free(): void {
    this.mmsg.free();
  }
}
