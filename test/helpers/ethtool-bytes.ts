// Byte builders for generic netlink / ethtool netlink messages, written from the kernel's uapi
// layout (genetlink.h, ethtool_netlink.h) independently of src/ethtool's encoders: tests build
// replies the kernel would send (and ones it would never send) with these.
import {
  ETHTOOL_A_BITSET_BITS,
  ETHTOOL_A_BITSET_BITS_BIT,
  ETHTOOL_A_BITSET_BIT_INDEX,
  ETHTOOL_A_BITSET_BIT_NAME,
  ETHTOOL_A_BITSET_BIT_VALUE,
  ETHTOOL_A_BITSET_MASK,
  ETHTOOL_A_BITSET_NOMASK,
  ETHTOOL_A_BITSET_SIZE,
  ETHTOOL_A_BITSET_VALUE,
  ETHTOOL_A_HEADER_DEV_INDEX,
  ETHTOOL_A_HEADER_DEV_NAME,
  LINK_MODE_NAMES,
} from '../../src/ethtool/constants.js';

const NLA_F_NESTED = 0x8000;

/** struct nlattr + payload + padding to 4. */
export function attr(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

export function nest(type: number, ...children: Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(children));
}

export function u8(type: number, value: number): Buffer {
  return attr(type, Buffer.from([value]));
}

export function u16(type: number, value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return attr(type, b);
}

export function u32(type: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return attr(type, b);
}

export function str(type: number, value: string): Buffer {
  return attr(type, Buffer.from(`${value}\0`, 'utf8'));
}

export function flag(type: number): Buffer {
  return attr(type);
}

/** nlmsghdr + genlmsghdr + attributes, as the kernel sends it (pid 0). */
export function genlMessage(
  nlType: number,
  cmd: number,
  attributes: Buffer[],
  options: { seq?: number; flags?: number; version?: number } = {},
): Buffer {
  const body = Buffer.concat(attributes);
  const out = Buffer.alloc(16 + 4 + body.length);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(nlType, 4);
  out.writeUInt16LE(options.flags ?? 0, 6);
  out.writeUInt32LE(options.seq ?? 0, 8);
  out.writeUInt32LE(0, 12);
  out[16] = cmd;
  out[17] = options.version ?? 1;
  body.copy(out, 20);
  return out;
}

/** An ETHTOOL_A_*_HEADER nest naming a device, as ethnl_fill_reply_header() writes it. */
export function deviceHeader(type: number, ifindex: number, ifname?: string): Buffer {
  const children = [u32(ETHTOOL_A_HEADER_DEV_INDEX, ifindex)];
  if (ifname !== undefined) children.push(str(ETHTOOL_A_HEADER_DEV_NAME, ifname));
  return nest(type, ...children);
}

/** `size` bits as ceil(size / 32) little-endian u32 words with `bits` set. */
export function bitWords(size: number, bits: readonly number[]): Buffer {
  const out = Buffer.alloc(Math.ceil(size / 32) * 4);
  for (const bit of bits) {
    const w = bit >> 5;
    out.writeUInt32LE((out.readUInt32LE(w * 4) | (1 << (bit & 31))) >>> 0, w * 4);
  }
  return out;
}

/**
 * A compact bitset nest (ethnl_put_bitset32 with compact): SIZE, VALUE and — unless `mask` is
 * undefined, which makes a list (NOMASK) — MASK.
 */
export function compactBitset(type: number, size: number, value: readonly number[], mask?: readonly number[]): Buffer {
  const children: Buffer[] = [];
  if (mask === undefined) children.push(flag(ETHTOOL_A_BITSET_NOMASK));
  children.push(u32(ETHTOOL_A_BITSET_SIZE, size));
  children.push(attr(ETHTOOL_A_BITSET_VALUE, bitWords(size, value)));
  if (mask !== undefined) children.push(attr(ETHTOOL_A_BITSET_MASK, bitWords(size, mask)));
  return nest(type, ...children);
}

/**
 * A bit-by-bit bitset nest (ethnl_put_bitset32 without compact): one BITS_BIT per bit of the
 * mask (of the value for a list), with the kernel's name and a VALUE flag for bits in the value.
 */
export function verboseBitset(type: number, size: number, value: readonly number[], mask?: readonly number[]): Buffer {
  const listed = [...new Set(mask ?? value)].sort((a, b) => a - b);
  const bits = listed.map((bit) => {
    const parts = [u32(ETHTOOL_A_BITSET_BIT_INDEX, bit)];
    const name = LINK_MODE_NAMES[bit];
    if (name !== undefined) parts.push(str(ETHTOOL_A_BITSET_BIT_NAME, name.replace(/_(Full|Half)$/, '/$1')));
    if (mask !== undefined && value.includes(bit)) parts.push(flag(ETHTOOL_A_BITSET_BIT_VALUE));
    return nest(ETHTOOL_A_BITSET_BITS_BIT, ...parts);
  });
  const children: Buffer[] = [];
  if (mask === undefined) children.push(flag(ETHTOOL_A_BITSET_NOMASK));
  children.push(u32(ETHTOOL_A_BITSET_SIZE, size));
  children.push(nest(ETHTOOL_A_BITSET_BITS, ...bits));
  return nest(type, ...children);
}
