// Reader for ethtool netlink bitsets (Documentation/networking/ethtool-netlink.rst, "Bit sets";
// the kernel writes them in ethnl_put_bitset32(), net/ethtool/bitset.c). A bitset is a nest of:
//   ETHTOOL_A_BITSET_NOMASK  flag  — a list: only the value, no mask
//   ETHTOOL_A_BITSET_SIZE    u32   — number of significant bits
// then either the compact form (asked for with ETHTOOL_FLAG_COMPACT_BITSETS)
//   ETHTOOL_A_BITSET_VALUE   binary — ceil(SIZE / 32) host-endian u32 words
//   ETHTOOL_A_BITSET_MASK    binary — as many words; absent in a list
// or the bit-by-bit form
//   ETHTOOL_A_BITSET_BITS    nest of ETHTOOL_A_BITSET_BITS_BIT nests, one per bit set in the mask
//                            (in the value, for a list): BIT_INDEX u32, BIT_NAME string, and
//                            BIT_VALUE flag when the bit is also set in the value.
// Untrusted: every inconsistency is a NetlinkDecodeError ('bad_bitset', or the attribute reader's
// size/overrun reasons), checked the way the kernel's own parser checks what user space sends.

import { NetlinkDecodeError } from '../netlink/errors.js';
import { AttributeReader } from '../netlink/attributes.js';
import { RTA_HDRLEN } from '../netlink/constants.js';
import {
  ETHNL_MAX_BITSET_SIZE,
  ETHTOOL_A_BITSET_BITS,
  ETHTOOL_A_BITSET_BITS_BIT,
  ETHTOOL_A_BITSET_BIT_INDEX,
  ETHTOOL_A_BITSET_BIT_NAME,
  ETHTOOL_A_BITSET_BIT_VALUE,
  ETHTOOL_A_BITSET_MASK,
  ETHTOOL_A_BITSET_NOMASK,
  ETHTOOL_A_BITSET_SIZE,
  ETHTOOL_A_BITSET_VALUE,
} from './constants.js';

/**
 * Called once per bit that is set in the value or the mask, in increasing bit order for the
 * compact form and in the kernel's order for the bit-by-bit form. `inMask` is false for a list
 * (NOMASK), which has no mask.
 */
export type BitVisitor = (bit: number, inValue: boolean, inMask: boolean) => void;

/** What walkBitset learnt besides the bits. */
export interface BitsetShape {
  /** ETHTOOL_A_BITSET_SIZE (undefined only in a bit-by-bit bitset that omits it). */
  readonly size: number | undefined;
  /** ETHTOOL_A_BITSET_NOMASK */
  readonly list: boolean;
  readonly compact: boolean;
}

// Readers for the levels below the bitset nest (walkBitset is synchronous and not re-entrant).
const nest = new AttributeReader();
const bitList = new AttributeReader();
const bitNest = new AttributeReader();

function fail(offset: number, detail: string, attributeType?: number): NetlinkDecodeError {
  return new NetlinkDecodeError('bad_bitset', offset, detail, attributeType);
}

/** A flag attribute must be empty. */
function checkFlag(a: AttributeReader): void {
  if (a.length !== 0) {
    throw new NetlinkDecodeError('bad_attribute_size', a.offset, `flag with a payload of ${a.length} bytes, expected 0`, a.type);
  }
}

/** Host-endian (little-endian, see src/netlink/message.ts) u32 word `w` of buf[start, ...). */
function word(buf: Buffer, start: number, w: number): number {
  const i = start + w * 4;
  return ((buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24)) >>> 0;
}

/**
 * Walk the bitset that `outer` is positioned on (its current attribute is the bitset nest, e.g.
 * ETHTOOL_A_LINKMODES_OURS) and call `visit` for every bit set in its value or mask. Bits at or
 * past SIZE in the last compact word are ignored (the kernel clears them). Throws
 * NetlinkDecodeError 'bad_bitset' when: neither VALUE nor BITS is present, or both; a compact
 * bitset lacks SIZE, has a MASK in a list or lacks one otherwise; VALUE or MASK is not
 * ceil(SIZE / 32) * 4 bytes; SIZE exceeds ETHNL_MAX_BITSET_SIZE; a bit lacks its BIT_INDEX or has
 * one at or past SIZE. Sizes and overruns fail as the attribute reader reports them.
 */
export function walkBitset(outer: AttributeReader, visit: BitVisitor): BitsetShape {
  const nestOffset = outer.offset;
  const nestType = outer.type;
  let size: number | undefined;
  let list = false;
  let sizeOffset = 0;
  let valueStart = -1;
  let valueLength = 0;
  let valueOffset = 0;
  let maskStart = -1;
  let maskLength = 0;
  let maskOffset = 0;
  let bitsStart = -1;
  let bitsLength = 0;
  let bitsBase = 0;
  let buf: Buffer | undefined;
  try {
    const n = outer.nested(nest);
    buf = n.buffer;
    while (n.next()) {
      switch (n.type) {
        case ETHTOOL_A_BITSET_NOMASK:
          checkFlag(n);
          list = true;
          break;
        case ETHTOOL_A_BITSET_SIZE:
          size = n.u32();
          sizeOffset = n.offset;
          break;
        case ETHTOOL_A_BITSET_VALUE:
          valueStart = n.payloadStart;
          valueLength = n.length;
          valueOffset = n.offset;
          break;
        case ETHTOOL_A_BITSET_MASK:
          maskStart = n.payloadStart;
          maskLength = n.length;
          maskOffset = n.offset;
          break;
        case ETHTOOL_A_BITSET_BITS:
          bitsStart = n.payloadStart;
          bitsLength = n.length;
          // datagram offset of buf[0]: the header sits RTA_HDRLEN before the payload
          bitsBase = n.offset - (n.payloadStart - RTA_HDRLEN);
          break;
        default:
          break; // unknown: skipped
      }
    }
    if (size !== undefined && size > ETHNL_MAX_BITSET_SIZE) {
      throw fail(sizeOffset, `size ${size} above ETHNL_MAX_BITSET_SIZE ${ETHNL_MAX_BITSET_SIZE}`, ETHTOOL_A_BITSET_SIZE);
    }
    const compact = valueStart >= 0 || maskStart >= 0;
    if (compact && bitsStart >= 0) throw fail(nestOffset, 'both ETHTOOL_A_BITSET_BITS and a compact VALUE/MASK', nestType);
    if (compact) {
      if (valueStart < 0) throw fail(nestOffset, 'compact bitset without ETHTOOL_A_BITSET_VALUE', nestType);
      if (size === undefined) throw fail(nestOffset, 'compact bitset without ETHTOOL_A_BITSET_SIZE', nestType);
      if (list && maskStart >= 0) throw fail(maskOffset, 'ETHTOOL_A_BITSET_MASK in a list (NOMASK) bitset', ETHTOOL_A_BITSET_MASK);
      if (!list && maskStart < 0) throw fail(nestOffset, 'compact bitset without NOMASK or ETHTOOL_A_BITSET_MASK', nestType);
      const words = Math.ceil(size / 32);
      if (valueLength !== words * 4) {
        throw fail(valueOffset, `value of ${valueLength} bytes, size ${size} needs ${words * 4}`, ETHTOOL_A_BITSET_VALUE);
      }
      if (maskStart >= 0 && maskLength !== words * 4) {
        throw fail(maskOffset, `mask of ${maskLength} bytes, size ${size} needs ${words * 4}`, ETHTOOL_A_BITSET_MASK);
      }
      for (let w = 0; w < words; w++) {
        const v = word(buf, valueStart, w);
        const m = maskStart >= 0 ? word(buf, maskStart, w) : 0;
        let either = (v | m) >>> 0;
        while (either !== 0) {
          const low = either & -either;
          const k = 31 - Math.clz32(low);
          const bit = w * 32 + k;
          if (bit >= size) break;
          visit(bit, (v & low) !== 0, (m & low) !== 0);
          either = (either & (either - 1)) >>> 0;
        }
      }
      return { size, list, compact: true };
    }
    if (bitsStart < 0) throw fail(nestOffset, 'bitset with neither ETHTOOL_A_BITSET_VALUE nor ETHTOOL_A_BITSET_BITS', nestType);
    const bits = bitList.init(buf, bitsStart, bitsStart + bitsLength, bitsBase);
    while (bits.next()) {
      if (bits.type !== ETHTOOL_A_BITSET_BITS_BIT) continue; // unknown: skipped
      const bitOffset = bits.offset;
      let index: number | undefined;
      let inValue = list;
      const b = bits.nested(bitNest);
      while (b.next()) {
        switch (b.type) {
          case ETHTOOL_A_BITSET_BIT_INDEX:
            index = b.u32();
            break;
          case ETHTOOL_A_BITSET_BIT_NAME:
            b.string(); // validated, not used: the index says which bit
            break;
          case ETHTOOL_A_BITSET_BIT_VALUE:
            checkFlag(b);
            inValue = true;
            break;
          default:
            break;
        }
      }
      if (index === undefined) throw fail(bitOffset, 'bit without ETHTOOL_A_BITSET_BIT_INDEX', ETHTOOL_A_BITSET_BITS_BIT);
      if (size !== undefined && index >= size) {
        throw fail(bitOffset, `bit index ${index} not below size ${size}`, ETHTOOL_A_BITSET_BITS_BIT);
      }
      visit(index, inValue, !list);
    }
    return { size, list, compact: false };
  } finally {
    nest.release();
    bitList.release();
    bitNest.release();
  }
}
