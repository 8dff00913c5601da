// A pure LLDPDU decoder (IEEE 802.1AB): the Ethernet payload after the 0x88cc ethertype in, the
// neighbour it announces, or the reason the frame is dropped, out. Never throws.
//
// Layout: a sequence of TLVs, each a 16-bit header (type: 7 bits, length: 9 bits) and `length`
// bytes of value. Chassis id (1), port id (2) and TTL (3) come first, in that order, once each;
// then optional TLVs; then End (0, length 0). 802.1AB-2016 made End optional, so a frame whose
// last TLV ends exactly at the end of the bytes is accepted too; whatever follows End (Ethernet
// padding) is ignored.
//
// Errors in the mandatory TLVs and in the optional TLVs read here (wrong length for the type,
// text over 255 bytes) drop the whole frame with a reason: the caller counts it, nothing is
// stripped silently. TLVs this decoder does not read (system capabilities, reserved types, other
// organisations) are skipped after the bounds check. Text from the wire is untrusted: decoded by
// decodeWireText (invalid UTF-8 and control characters as \xHH), so it is lossless and safe in
// labels, HTML and logs.
import { decodeWireText } from '../netlink/kernel-text.js';

export const LLDP_DROP_REASONS = [
  /** The bytes end inside a TLV header (or there are none). */
  'truncated',
  /** A TLV's length runs past the end of the bytes. */
  'tlv_overrun',
  /** End (or the end of the bytes) before chassis id, port id and TTL were all seen. */
  'missing_mandatory',
  /** The first three TLVs are not chassis id, port id, TTL in that order. */
  'bad_order',
  /** A second chassis id, port id or TTL TLV. */
  'duplicate_mandatory',
  /** A TLV's length is not one the standard allows for its type. */
  'bad_length',
  /** A chassis id or port id subtype that the standard reserves (0, 8..255). */
  'bad_subtype',
  /** A chassis id or port id of zero bytes (the TLV holds only its subtype). */
  'empty_id',
  /** TTL 0: the neighbour announces it is going away (the drop carries its ids). */
  'shutdown',
  /** Another ethertype or destination (counted by the caller, not by this decoder). */
  'not_lldp',
] as const;
export type LldpDropReason = (typeof LLDP_DROP_REASONS)[number];

export interface LldpMacPhy {
  autonegSupported: boolean;
  autonegEnabled: boolean;
  /** PMD auto-negotiation advertised capability (IANAifMauAutoNegCapBits, 16 bits as sent). */
  advertised: number;
  /** dot3MauType number of the operational MAU (RFC 4836, IANA-MAU-MIB). */
  operationalMauType: number;
  /** From the MAU type, for the types the table below knows. */
  speedBytesPerSecond?: number;
  duplex?: 'full' | 'half';
}

export interface LldpNeighbor {
  chassisIdSubtype: number;
  /** MAC as aa:bb:.., network address as IP text, text subtypes escaped, other bytes hex. */
  chassisId: string;
  portIdSubtype: number;
  portId: string;
  /** > 0 */
  ttlSeconds: number;
  portDescription?: string;
  systemName?: string;
  systemDescription?: string;
  /** The first management address: IPv4/IPv6 text, else its bytes (IANA family first) as hex. */
  managementAddress?: string;
  macPhy?: LldpMacPhy;
}

export type LldpDecodeResult =
  | { ok: true; neighbor: LldpNeighbor }
  | { ok: false; reason: LldpDropReason; chassisId?: string; portId?: string };

export const TLV_END = 0;
export const TLV_CHASSIS_ID = 1;
export const TLV_PORT_ID = 2;
export const TLV_TTL = 3;
export const TLV_PORT_DESCRIPTION = 4;
export const TLV_SYSTEM_NAME = 5;
export const TLV_SYSTEM_DESCRIPTION = 6;
export const TLV_MANAGEMENT_ADDRESS = 8;
export const TLV_ORGANIZATIONAL = 127;

/** IEEE 802.3 organizationally unique identifier, and its MAC/PHY configuration/status subtype. */
export const OUI_IEEE_8023 = 0x00120f;
export const DOT3_SUBTYPE_MAC_PHY = 1;

// Chassis id subtypes (802.1AB-2009 Table 8-2) and port id subtypes (Table 8-3).
export const CHASSIS_ID_CHASSIS_COMPONENT = 1;
export const CHASSIS_ID_INTERFACE_ALIAS = 2;
export const CHASSIS_ID_PORT_COMPONENT = 3;
export const CHASSIS_ID_MAC_ADDRESS = 4;
export const CHASSIS_ID_NETWORK_ADDRESS = 5;
export const CHASSIS_ID_INTERFACE_NAME = 6;
export const CHASSIS_ID_LOCAL = 7;
export const PORT_ID_INTERFACE_ALIAS = 1;
export const PORT_ID_PORT_COMPONENT = 2;
export const PORT_ID_MAC_ADDRESS = 3;
export const PORT_ID_NETWORK_ADDRESS = 4;
export const PORT_ID_INTERFACE_NAME = 5;
export const PORT_ID_AGENT_CIRCUIT_ID = 6;
export const PORT_ID_LOCAL = 7;

/** IANA address family numbers used by the network address subtypes and management address. */
const IANA_AF_IPV4 = 1;
const IANA_AF_IPV6 = 2;

/** Bounds of the standard: an id is 1..255 bytes after its subtype, a string 0..255 bytes. */
const MAX_ID_BYTES = 255;
const MAX_STRING_BYTES = 255;

/** How each id subtype is rendered. */
type IdForm = 'text' | 'mac' | 'network' | 'hex';
const CHASSIS_FORMS: readonly (IdForm | undefined)[] = [undefined, 'text', 'text', 'text', 'mac', 'network', 'text', 'text'];
const PORT_FORMS: readonly (IdForm | undefined)[] = [undefined, 'text', 'text', 'mac', 'network', 'text', 'hex', 'text'];

const HEX = '0123456789abcdef';

function hex(buf: Buffer, start: number, end: number, separator = ''): string {
  let text = '';
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (i > start) text += separator;
    text += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return text;
}

/** RFC 5952 text of 16 address bytes: lower-case, longest run (> 1) of zero groups as `::`. */
export function ipv6Text(buf: Buffer, start: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(start + 2 * i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const part = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return part(0, 8);
  return `${part(0, bestStart)}::${part(bestStart + bestLen, 8)}`;
}

/** An IANA family byte and address: IPv4/IPv6 text when the length fits, else all bytes hex. */
function networkAddressText(buf: Buffer, start: number, end: number): string {
  const family = buf[start];
  const len = end - start - 1;
  if (family === IANA_AF_IPV4 && len === 4) return `${buf[start + 1]}.${buf[start + 2]}.${buf[start + 3]}.${buf[start + 4]}`;
  if (family === IANA_AF_IPV6 && len === 16) return ipv6Text(buf, start + 1);
  return hex(buf, start, end);
}

function idText(form: IdForm, buf: Buffer, start: number, end: number): string {
  switch (form) {
    case 'text':
      return decodeWireText(buf, start, end);
    case 'mac':
      return hex(buf, start, end, ':');
    case 'network':
      return networkAddressText(buf, start, end);
    case 'hex':
      return hex(buf, start, end);
  }
}

const MBIT = 125_000; // bytes per second in one Mb/s

/**
 * dot3MauType → [Mb/s, duplex] for the common types (RFC 4836 and IANA-MAU-MIB). Types without
 * a fixed speed (AUI, 2BASE-TL, 10PASS-TS), the asymmetric EPON types and unknown numbers give
 * no speed; types named without HD/FD and not full-duplex-only give no duplex.
 */
const MAU_TYPES: ReadonlyMap<number, readonly [number, 'full' | 'half' | undefined]> = new Map<number, readonly [number, 'full' | 'half' | undefined]>([
  [2, [10, 'half']], // 10Base5
  [3, [10, 'half']], // FOIRL
  [4, [10, 'half']], // 10Base2
  [5, [10, undefined]], // 10BaseT, duplex unknown
  [6, [10, 'half']], // 10BaseFP
  [7, [10, 'half']], // 10BaseFB
  [8, [10, undefined]], // 10BaseFL, duplex unknown
  [9, [10, 'half']], // 10Broad36
  [10, [10, 'half']], // 10BaseTHD
  [11, [10, 'full']], // 10BaseTFD
  [12, [10, 'half']], // 10BaseFLHD
  [13, [10, 'full']], // 10BaseFLFD
  [14, [100, 'half']], // 100BaseT4
  [15, [100, 'half']], // 100BaseTXHD
  [16, [100, 'full']], // 100BaseTXFD
  [17, [100, 'half']], // 100BaseFXHD
  [18, [100, 'full']], // 100BaseFXFD
  [19, [100, 'half']], // 100BaseT2HD
  [20, [100, 'full']], // 100BaseT2FD
  [21, [1000, 'half']], // 1000BaseXHD
  [22, [1000, 'full']], // 1000BaseXFD
  [23, [1000, 'half']], // 1000BaseLXHD
  [24, [1000, 'full']], // 1000BaseLXFD
  [25, [1000, 'half']], // 1000BaseSXHD
  [26, [1000, 'full']], // 1000BaseSXFD
  [27, [1000, 'half']], // 1000BaseCXHD
  [28, [1000, 'full']], // 1000BaseCXFD
  [29, [1000, 'half']], // 1000BaseTHD
  [30, [1000, 'full']], // 1000BaseTFD
  [31, [10_000, 'full']], // 10GigBaseX
  [32, [10_000, 'full']], // 10GigBaseLX4
  [33, [10_000, 'full']], // 10GigBaseR
  [34, [10_000, 'full']], // 10GigBaseER
  [35, [10_000, 'full']], // 10GigBaseLR
  [36, [10_000, 'full']], // 10GigBaseSR
  [37, [10_000, 'full']], // 10GigBaseW
  [38, [10_000, 'full']], // 10GigBaseEW
  [39, [10_000, 'full']], // 10GigBaseLW
  [40, [10_000, 'full']], // 10GigBaseSW
  [41, [10_000, 'full']], // 10GigBaseCX4
  [44, [100, 'full']], // 100BaseBX10D
  [45, [100, 'full']], // 100BaseBX10U
  [46, [100, 'full']], // 100BaseLX10
  [47, [1000, 'full']], // 1000BaseBX10D
  [48, [1000, 'full']], // 1000BaseBX10U
  [49, [1000, 'full']], // 1000BaseLX10
  [54, [10_000, 'full']], // 10GbaseT
  [55, [10_000, 'full']], // 10GbaseLRM
  [56, [1000, 'full']], // 1000baseKX
  [57, [10_000, 'full']], // 10GbaseKX4
  [58, [10_000, 'full']], // 10GbaseKR
  [70, [40_000, 'full']], // 40GbaseKR4
  [71, [40_000, 'full']], // 40GbaseCR4
  [72, [40_000, 'full']], // 40GbaseSR4
  [73, [40_000, 'full']], // 40GbaseFR
  [74, [40_000, 'full']], // 40GbaseLR4
  [75, [100_000, 'full']], // 100GbaseCR10
  [76, [100_000, 'full']], // 100GbaseSR10
  [77, [100_000, 'full']], // 100GbaseLR4
  [78, [100_000, 'full']], // 100GbaseER4
  [79, [1000, 'full']], // 1000baseT1
  [88, [25_000, 'full']], // 25GbaseCR
  [89, [25_000, 'full']], // 25GbaseCRS
  [90, [25_000, 'full']], // 25GbaseKR
  [91, [25_000, 'full']], // 25GbaseKRS
  [92, [25_000, 'full']], // 25GbaseR
  [93, [25_000, 'full']], // 25GbaseSR
  [94, [25_000, 'full']], // 25GbaseT
  [95, [40_000, 'full']], // 40GbaseER4
  [96, [40_000, 'full']], // 40GbaseR
  [97, [40_000, 'full']], // 40GbaseT
  [98, [100_000, 'full']], // 100GbaseCR4
  [99, [100_000, 'full']], // 100GbaseKR4
  [100, [100_000, 'full']], // 100GbaseKP4
  [101, [100_000, 'full']], // 100GbaseR
  [102, [100_000, 'full']], // 100GbaseSR4
  [103, [2500, 'full']], // 2p5GigT
  [104, [5000, 'full']], // 5GigT
]);

/** Speed and duplex of a dot3MauType, or undefined for a type without a fixed speed here. */
export function mauTypeSpeed(mauType: number): { speedBytesPerSecond: number; duplex?: 'full' | 'half' } | undefined {
  const entry = MAU_TYPES.get(mauType);
  if (entry === undefined) return undefined;
  const [mbit, duplex] = entry;
  return duplex === undefined ? { speedBytesPerSecond: mbit * MBIT } : { speedBytesPerSecond: mbit * MBIT, duplex };
}

function drop(reason: LldpDropReason): LldpDecodeResult {
  return { ok: false, reason };
}

/** Decodes one LLDPDU (the bytes after the ethertype). */
export function decodeLldpdu(payload: Uint8Array): LldpDecodeResult {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const end = buf.length;
  let offset = 0;
  let index = 0; // TLVs seen so far
  let chassisIdSubtype = 0;
  let chassisId: string | undefined;
  let portIdSubtype = 0;
  let portId: string | undefined;
  let ttlSeconds: number | undefined;
  let portDescription: string | undefined;
  let systemName: string | undefined;
  let systemDescription: string | undefined;
  let managementAddress: string | undefined;
  let macPhy: LldpMacPhy | undefined;

  if (end === 0) return drop('truncated');
  while (offset < end) {
    if (end - offset < 2) return drop('truncated');
    const header = buf.readUInt16BE(offset);
    const type = header >> 9;
    const length = header & 0x1ff;
    const start = offset + 2;
    const stop = start + length;
    if (stop > end) return drop('tlv_overrun');
    offset = stop;
    const position = index++;

    // The first three TLVs are the mandatory ones, in order; none of them again later.
    const expected = position === 0 ? TLV_CHASSIS_ID : position === 1 ? TLV_PORT_ID : position === 2 ? TLV_TTL : undefined;
    if (expected !== undefined && type !== expected) {
      if (type === TLV_END) return drop('missing_mandatory');
      return drop('bad_order');
    }
    if (expected === undefined && (type === TLV_CHASSIS_ID || type === TLV_PORT_ID || type === TLV_TTL)) {
      return drop('duplicate_mandatory');
    }

    switch (type) {
      case TLV_END:
        if (length !== 0) return drop('bad_length');
        offset = end; // what follows End is padding
        break;
      case TLV_CHASSIS_ID:
      case TLV_PORT_ID: {
        if (length === 0) return drop('bad_length');
        const subtype = buf[start] as number;
        const form = (type === TLV_CHASSIS_ID ? CHASSIS_FORMS : PORT_FORMS)[subtype];
        if (form === undefined) return drop('bad_subtype');
        if (length === 1) return drop('empty_id');
        if (length - 1 > MAX_ID_BYTES) return drop('bad_length');
        const text = idText(form, buf, start + 1, stop);
        if (type === TLV_CHASSIS_ID) {
          chassisIdSubtype = subtype;
          chassisId = text;
        } else {
          portIdSubtype = subtype;
          portId = text;
        }
        break;
      }
      case TLV_TTL:
        if (length !== 2) return drop('bad_length');
        ttlSeconds = buf.readUInt16BE(start);
        break;
      case TLV_PORT_DESCRIPTION:
      case TLV_SYSTEM_NAME:
      case TLV_SYSTEM_DESCRIPTION: {
        if (length > MAX_STRING_BYTES) return drop('bad_length');
        // only one of each is allowed; the first is kept
        const text = decodeWireText(buf, start, stop);
        if (type === TLV_PORT_DESCRIPTION) portDescription ??= text;
        else if (type === TLV_SYSTEM_NAME) systemName ??= text;
        else systemDescription ??= text;
        break;
      }
      case TLV_MANAGEMENT_ADDRESS: {
        // address string length (subtype + address, 2..32), subtype, address, interface
        // numbering subtype, interface number (4), OID length, OID (0..128)
        if (length < 9 || length > 167) return drop('bad_length');
        const addressLength = buf[start] as number;
        if (addressLength < 2 || addressLength > 32) return drop('bad_length');
        const oidAt = start + 1 + addressLength + 5;
        if (oidAt >= stop) return drop('bad_length');
        const oidLength = buf[oidAt] as number;
        if (oidLength > 128 || oidAt + 1 + oidLength !== stop) return drop('bad_length');
        managementAddress ??= networkAddressText(buf, start + 1, start + 1 + addressLength);
        break;
      }
      case TLV_ORGANIZATIONAL: {
        if (length < 4) return drop('bad_length');
        const oui = (buf[start]! << 16) | (buf[start + 1]! << 8) | buf[start + 2]!;
        const subtype = buf[start + 3];
        if (oui !== OUI_IEEE_8023 || subtype !== DOT3_SUBTYPE_MAC_PHY) break;
        if (length !== 9) return drop('bad_length');
        if (macPhy !== undefined) break;
        const autoneg = buf[start + 4] as number;
        const operationalMauType = buf.readUInt16BE(start + 7);
        macPhy = {
          autonegSupported: (autoneg & 1) !== 0,
          autonegEnabled: (autoneg & 2) !== 0,
          advertised: buf.readUInt16BE(start + 5),
          operationalMauType,
          ...mauTypeSpeed(operationalMauType),
        };
        break;
      }
      default:
        // system capabilities, reserved types: bounds checked above, not read
        break;
    }
  }

  if (chassisId === undefined || portId === undefined || ttlSeconds === undefined) return drop('missing_mandatory');
  if (ttlSeconds === 0) return { ok: false, reason: 'shutdown', chassisId, portId };
  const neighbor: LldpNeighbor = { chassisIdSubtype, chassisId, portIdSubtype, portId, ttlSeconds };
  if (portDescription !== undefined) neighbor.portDescription = portDescription;
  if (systemName !== undefined) neighbor.systemName = systemName;
  if (systemDescription !== undefined) neighbor.systemDescription = systemDescription;
  if (managementAddress !== undefined) neighbor.managementAddress = managementAddress;
  if (macPhy !== undefined) neighbor.macPhy = macPhy;
  return { ok: true, neighbor };
}
