// The native memory one recvmmsg call reads into, allocated once and reused by every call: an
// array of struct mmsghdr whose slot i receives into its own stretch of one staging buffer, with
// room for the sender's address and, when asked for, for control messages.
import {
  IOVEC_OFFSETS,
  IOVEC_SIZE,
  MMSGHDR_SIZE,
  MSGHDR_OFFSETS,
  allocNative,
  freeNative,
  writeWord,
  type NativeBlock,
} from './libc.js';

export class MmsgVector {
  /** Slot i's bytes are [i * slotBytes, (i + 1) * slotBytes); read only within what recvmmsg returned, so not zeroed. */
  readonly staging: NativeBlock;
  /** Slot i's sender address at i * nameStride. */
  readonly names: NativeBlock;
  /** Slot i's control messages at i * controlBytes, when controlBytes > 0. */
  readonly controls: NativeBlock | undefined;
  /** The mmsghdr array, passed to recvmmsg by its address. */
  readonly vec: NativeBlock;
  /** The mmsghdr array as 32-bit words, for the lengths and flags the kernel writes back. */
  readonly words: Int32Array;
  private readonly iovs: NativeBlock;

  constructor(
    readonly slots: number,
    readonly slotBytes: number,
    readonly nameStride: number,
    readonly controlBytes = 0,
  ) {
    this.staging = allocNative(slots * slotBytes, { zero: false });
    this.names = allocNative(slots * nameStride);
    this.iovs = allocNative(slots * IOVEC_SIZE);
    this.vec = allocNative(slots * MMSGHDR_SIZE);
    this.controls = controlBytes > 0 ? allocNative(slots * controlBytes) : undefined;
    for (let i = 0; i < slots; i++) {
      const iov = i * IOVEC_SIZE;
      writeWord(this.iovs.view, iov + IOVEC_OFFSETS.base, this.staging.address + BigInt(i * slotBytes));
      writeWord(this.iovs.view, iov + IOVEC_OFFSETS.len, BigInt(slotBytes));
      const msg = i * MMSGHDR_SIZE;
      writeWord(this.vec.view, msg + MSGHDR_OFFSETS.name, this.names.address + BigInt(i * nameStride));
      writeWord(this.vec.view, msg + MSGHDR_OFFSETS.iov, this.iovs.address + BigInt(iov));
      writeWord(this.vec.view, msg + MSGHDR_OFFSETS.iovlen, 1n);
      if (this.controls !== undefined) writeWord(this.vec.view, msg + MSGHDR_OFFSETS.control, this.controls.address + BigInt(i * controlBytes));
    }
    this.words = new Int32Array(this.vec.view.buffer, this.vec.view.byteOffset, (slots * MMSGHDR_SIZE) >> 2);
  }

  free(): void {
    for (const block of [this.staging, this.names, this.iovs, this.vec]) freeNative(block);
    if (this.controls !== undefined) freeNative(this.controls);
  }
}
