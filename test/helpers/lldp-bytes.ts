// LLDPDUs built to the 802.1AB layout, for the built fixtures and the tests: each TLV a 16-bit
// header (type << 9 | length) and its value. Written from the standard, not from the decoder.
import type { LldpDecodeResult } from '../../src/lldp/lldpdu.js';
import type { NeighborAnnouncement } from '../../src/lldp/neighbors.js';
import type { LldpdNeighborView } from './lldpd.js';

/** test/fixtures/lldp/*.json, written by scripts/record-lldp-fixtures.ts beside each frame. */
export interface LldpFixtureRecord {
  readonly step: string;
  readonly description: string;
  /** 'lldpd': captured from lldpd; 'built': built to the 802.1AB layout here. */
  readonly source: 'lldpd' | 'built';
  readonly destination: string;
  readonly sourceMac: string;
  readonly ethertype: number;
  /** For 'lldpd' the decoder's output at recording time; for 'built' the decode written by hand. */
  readonly decode: LldpDecodeResult;
  /** The receiving lldpd's view of the neighbour (captured only; null once it dropped it). */
  readonly lldpd?: LldpdNeighborView | null;
}

export const LLDP_MULTICAST = Buffer.from([0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e]);
export const ETH_P_LLDP = 0x88cc;

/** One TLV; `length` overrides the header's length field (for malformed frames). */
export function tlv(type: number, value: Buffer | readonly number[], length?: number): Buffer {
  const v = Buffer.isBuffer(value) ? value : Buffer.from(value);
  const header = Buffer.alloc(2);
  header.writeUInt16BE(((type & 0x7f) << 9) | ((length ?? v.length) & 0x1ff));
  return Buffer.concat([header, v]);
}

/** Chassis id (1) or port id (2): subtype then the id bytes. */
export function idTlv(type: 1 | 2, subtype: number, id: Buffer | string): Buffer {
  return tlv(type, Buffer.concat([Buffer.from([subtype]), Buffer.isBuffer(id) ? id : Buffer.from(id, 'utf8')]));
}

export function ttlTlv(seconds: number): Buffer {
  const v = Buffer.alloc(2);
  v.writeUInt16BE(seconds);
  return tlv(3, v);
}

export const END_TLV = tlv(0, []);

/** Port description (4), system name (5), system description (6). */
export function textTlv(type: 4 | 5 | 6, text: Buffer | string): Buffer {
  return tlv(type, Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
}

/** Management address (8): IANA family + address, ifIndex numbering, interface, OID. */
export function managementAddressTlv(family: number, address: Buffer | readonly number[], ifNumber = 2, oid: Buffer = Buffer.alloc(0)): Buffer {
  const addr = Buffer.isBuffer(address) ? address : Buffer.from(address);
  const tail = Buffer.alloc(6);
  tail[0] = 2; // interface numbering subtype: ifIndex
  tail.writeUInt32BE(ifNumber, 1);
  tail[5] = oid.length;
  return tlv(8, Buffer.concat([Buffer.from([addr.length + 1, family]), addr, tail, oid]));
}

/** IEEE 802.3 MAC/PHY configuration/status (127, OUI 00-12-0F, subtype 1). */
export function macPhyTlv(autoneg: number, advertised: number, mauType: number): Buffer {
  const v = Buffer.from([0x00, 0x12, 0x0f, 0x01, autoneg, 0, 0, 0, 0]);
  v.writeUInt16BE(advertised, 5);
  v.writeUInt16BE(mauType, 7);
  return tlv(127, v);
}

/** An Ethernet frame to the LLDP multicast address carrying `payload`. */
export function ethernetFrame(source: readonly number[], payload: Buffer, destination: Buffer = LLDP_MULTICAST, ethertype = ETH_P_LLDP): Buffer {
  const header = Buffer.alloc(14);
  destination.copy(header, 0);
  Buffer.from(source).copy(header, 6);
  header.writeUInt16BE(ethertype, 12);
  return Buffer.concat([header, payload]);
}

/** A decoded neighbour as the collector hands it to the store: leaf-07's Ethernet1/12, overridable. */
export function neighborAnnouncement(over: Partial<NeighborAnnouncement> = {}): NeighborAnnouncement {
  return {
    chassisIdSubtype: 4,
    chassisId: '52:54:00:aa:bb:cc',
    portIdSubtype: 7,
    portId: 'Ethernet1/12',
    ttlSeconds: 120,
    portDescription: 'to db-12 eth3',
    systemName: 'leaf-07',
    managementAddress: '192.0.2.7',
    ...over,
  };
}
