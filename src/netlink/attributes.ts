// Bounds-checked reader for a run of netlink attributes (struct rtattr / struct nlattr:
// u16 len, u16 type, then len - 4 bytes of payload, the next attribute at len rounded up to 4).
//
// The reader is a reusable cursor, not an iterator of objects: `next()` moves to the next
// attribute and exposes its type; the exact-size getters read the current payload. Nothing is
// allocated per attribute except what a getter returns (a string, a Buffer view). Decoders keep
// one reader per nesting level and `init` it for each message — they are synchronous, so a
// module-level reader is never used by two callers at once.
//
// Byte order: netlink is host-endian; like the rest of src/netlink this reads little-endian
// (see message.ts, which refuses to load on a big-endian host).

import { NetlinkDecodeError, type NetlinkDecodeReason } from './errors.js';
import { NLA_TYPE_MASK, RTA_HDRLEN } from './constants.js';
import { decodeKernelText } from './kernel-text.js';

const EMPTY = Buffer.alloc(0);

/** Round a length up to the 4-byte attribute alignment (safe for any length below 2^53). */
export function rtaAlign(len: number): number {
  return len + ((4 - (len & 3)) & 3);
}

export class AttributeReader {
  private buf: Buffer = EMPTY;
  /** Where the next attribute header starts (index into buf). */
  private pos = 0;
  /** End of the attribute region (index into buf, exclusive). */
  private end = 0;
  /** Added to indices into buf to give error offsets relative to the datagram. */
  private base = 0;
  /** Index into buf of the current attribute's header. */
  private start = 0;
  /** Index into buf of the current attribute's payload. */
  private dataStart = 0;

  /** rta_type of the current attribute with NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off. */
  type = 0;
  /** rta_type of the current attribute as sent, flag bits included. */
  rawType = 0;
  /** Payload length of the current attribute (rta_len - 4; padding excluded). */
  length = 0;

  /**
   * Point the reader at buf[start, end). `baseOffset` is the offset of buf[0] inside the
   * datagram, so that errors report datagram offsets. A caller bug (a range outside buf)
   * throws RangeError; untrusted bytes never reach that check.
   */
  init(buf: Buffer, start: number, end: number, baseOffset: number): this {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new RangeError(`attribute region [${start}, ${end}) outside buffer of ${buf.length}`);
    }
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.base = baseOffset;
    this.start = start;
    this.dataStart = start;
    this.type = 0;
    this.rawType = 0;
    this.length = 0;
    return this;
  }

  /** Drops the reference to the buffer walked last, so a reused reader does not keep it alive. */
  release(): void {
    this.buf = EMPTY;
    this.pos = 0;
    this.end = 0;
  }

  /**
   * Move to the next attribute. Returns false at the end of the region. Throws
   * NetlinkDecodeError when fewer than 4 bytes are left for a header, when rta_len is
   * below 4, or when rta_len runs past the end of the region. After the last attribute,
   * only the alignment padding of that attribute may be missing (the aligned advance may
   * step past `end`); any other leftover — 1 to 3 bytes that cannot hold a header — is an
   * overrun, not silently ignored.
   */
  next(): boolean {
    const pos = this.pos;
    const end = this.end;
    if (pos >= end) return false;
    const left = end - pos;
    if (left < RTA_HDRLEN) {
      throw this.fail('attribute_overrun', pos, `${left} bytes left, need ${RTA_HDRLEN} for rtattr`);
    }
    const buf = this.buf;
    // Plain indexing: pos + 3 < end <= buf.length was checked above (Buffer's readUInt16LE
    // re-validates its offset argument on every call, a measurable cost over ~50 attributes a link).
    const len = (buf[pos] as number) | ((buf[pos + 1] as number) << 8);
    const rawType = (buf[pos + 2] as number) | ((buf[pos + 3] as number) << 8);
    this.rawType = rawType;
    this.type = rawType & NLA_TYPE_MASK;
    if (len < RTA_HDRLEN) {
      throw this.fail('bad_attribute_length', pos, `rta_len ${len} below ${RTA_HDRLEN}`, this.type);
    }
    if (len > left) {
      throw this.fail('attribute_overrun', pos, `rta_len ${len} but ${left} bytes left`, this.type);
    }
    this.start = pos;
    this.dataStart = pos + RTA_HDRLEN;
    this.length = len - RTA_HDRLEN;
    this.pos = pos + rtaAlign(len);
    return true;
  }

  /** Datagram offset of the current attribute's header. */
  get offset(): number {
    return this.base + this.start;
  }

  /** The current payload as a u8; it must be exactly 1 byte. */
  u8(): number {
    if (this.length !== 1) throw this.badSize(1);
    return this.buf[this.dataStart] as number;
  }

  /** The current payload as a u16; it must be exactly 2 bytes. */
  u16(): number {
    if (this.length !== 2) throw this.badSize(2);
    return this.buf.readUInt16LE(this.dataStart);
  }

  /** The current payload as a u32; it must be exactly 4 bytes. */
  u32(): number {
    if (this.length !== 4) throw this.badSize(4);
    const b = this.buf;
    const i = this.dataStart;
    return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16)) + (b[i + 3] as number) * 0x1000000;
  }

  /** The current payload as an s32; it must be exactly 4 bytes. */
  s32(): number {
    if (this.length !== 4) throw this.badSize(4);
    return this.buf.readInt32LE(this.dataStart);
  }

  /**
   * The current payload as a NUL-terminated string (what the kernel's nla_put_string sends).
   * The last payload byte must be NUL; the string is the bytes up to the first NUL, as C readers
   * (ip link, libmnl users) see them, as text by decodeKernelText: UTF-8 as it is, anything else
   * escaped losslessly (`\xHH`), so that names differing in bytes that are not UTF-8 stay distinct.
   */
  string(): string {
    const len = this.length;
    const start = this.dataStart;
    if (len === 0 || this.buf[start + len - 1] !== 0) {
      throw this.fail(
        'bad_string',
        this.start,
        len === 0 ? 'empty payload, no NUL' : 'no terminating NUL',
        this.type,
      );
    }
    const nul = this.buf.indexOf(0, start);
    return decodeKernelText(this.buf, start, nul);
  }

  /** The current payload as a view into the datagram (not a copy); any length. */
  bytes(): Buffer {
    return this.buf.subarray(this.dataStart, this.dataStart + this.length);
  }

  /** Index into the underlying buffer of the current payload (for decoders formatting bytes in place). */
  get payloadStart(): number {
    return this.dataStart;
  }

  /** The buffer the reader walks (for decoders formatting bytes in place). */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Point `into` at the current payload, read as a run of nested attributes. Returns `into`. */
  nested(into: AttributeReader): AttributeReader {
    return into.init(this.buf, this.dataStart, this.dataStart + this.length, this.base);
  }

  private badSize(expected: number): NetlinkDecodeError {
    return this.fail(
      'bad_attribute_size',
      this.start,
      `payload of ${this.length} bytes, expected ${expected}`,
      this.type,
    );
  }

  private fail(
    reason: NetlinkDecodeReason,
    index: number,
    detail: string,
    attributeType?: number,
  ): NetlinkDecodeError {
    return new NetlinkDecodeError(reason, this.base + index, detail, attributeType);
  }
}
