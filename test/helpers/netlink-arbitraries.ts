// fast-check arbitraries for netlink bytes: random LinkMessages and the datagrams that carry
// them, mutations of those datagrams, and random attribute soup. Shared by the unit property
// tests and any longer fuzz run (raise the run count with NETLINK_FUZZ_RUNS).

import fc from 'fast-check';

import {
  NLA_F_NESTED,
  NLA_TYPE_MASK,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
} from '../../src/netlink/constants.js';
import {
  IFLA_ADDRESS,
  IFLA_CARRIER,
  IFLA_CARRIER_CHANGES,
  IFLA_CARRIER_DOWN_COUNT,
  IFLA_CARRIER_UP_COUNT,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_PARENT_DEV_BUS_NAME,
  IFLA_PARENT_DEV_NAME,
  IFLA_PROTINFO,
  IFLA_PROTO_DOWN,
  IFLA_PROTO_DOWN_REASON,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_OPERSTATE,
  RTM_DELLINK,
  RTM_NEWLINK,
} from '../../src/rtnetlink/constants.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import { doneMessage, errorMessage, linkAttributes, linkIfinfomsg, linkMessageType, nlmsg, rtattr } from './netlink-bytes.js';

/** Attribute types decodeLink reads (at the top level). */
export const KNOWN_LINK_ATTRIBUTES: readonly number[] = [
  IFLA_ADDRESS,
  IFLA_IFNAME,
  IFLA_MTU,
  IFLA_MASTER,
  IFLA_OPERSTATE,
  IFLA_LINKINFO,
  IFLA_PROTINFO,
  IFLA_IFALIAS,
  IFLA_CARRIER,
  IFLA_CARRIER_CHANGES,
  IFLA_CARRIER_UP_COUNT,
  IFLA_CARRIER_DOWN_COUNT,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_PROTO_DOWN,
  IFLA_PROTO_DOWN_REASON,
  IFLA_PARENT_DEV_NAME,
  IFLA_PARENT_DEV_BUS_NAME,
];

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });

/** undefined one time in three. */
function optional<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined, freq: 3 });
}

/**
 * Text without NUL, as any valid Unicode (kernel names are bytes; ours must survive UTF-8), and
 * without `\x`, which decodes escaped (kernel-text.ts; its own tests cover such names).
 */
function text(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: 'grapheme', maxLength }).filter((s) => !s.includes('\0') && !s.includes('\\x'));
}

const addressArb = fc
  .uint8Array({ maxLength: 32 })
  .map((bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':'));

/**
 * A LinkMessage with every key present, absent attributes undefined (decodeLink's shape),
 * as a plain object (fc.record's null-prototype objects would not deepStrictEqual).
 */
export const linkMessageArb: fc.Arbitrary<LinkMessage> = fc
  .record({
  kind: fc.constantFrom<'new' | 'del'>('new', 'del'),
  ifindex: s32,
  flags: u32,
  change: u32,
  linkType: u16,
  ifname: optional(text(15)),
  operstate: optional(u8),
  carrier: optional(u8),
  carrierChanges: optional(u32),
  carrierUpCount: optional(u32),
  carrierDownCount: optional(u32),
  mtu: optional(u32),
  address: optional(addressArb),
  ifalias: optional(text(64)),
  master: optional(u32),
  infoKind: optional(text(16)),
  bridgePortState: optional(u8),
  iflink: optional(u32),
  linkNetnsid: optional(s32),
  protoDown: optional(u8),
  protoDownReason: optional(u32),
  parentDevice: optional(text(32)),
  parentBus: optional(text(16)),
  family: fc.constantFrom(0, 7),
  })
  .map((link): LinkMessage => ({ ...link }));

/** An attribute of a type decodeLink does not read, with any payload. */
export const unknownAttributeArb: fc.Arbitrary<Buffer> = fc
  .record({
    type: fc.integer({ min: 0, max: NLA_TYPE_MASK }).filter((t) => !KNOWN_LINK_ATTRIBUTES.includes(t)),
    flags: fc.constantFrom(0, NLA_F_NESTED),
    data: fc.uint8Array({ maxLength: 40 }),
  })
  .map(({ type, flags, data }) => rtattr(type | flags, Buffer.from(data)));

/** One link message: its decode, and its bytes with attributes shuffled among unknown ones. */
export interface LinkCase {
  readonly link: LinkMessage;
  readonly bytes: Buffer;
}

export const linkCaseArb: fc.Arbitrary<LinkCase> = fc
  .record({
    link: linkMessageArb,
    unknown: fc.array(unknownAttributeArb, { maxLength: 3 }),
    nestedFlag: fc.boolean(),
    flags: fc.constantFrom(0, NLM_F_MULTI, NLM_F_MULTI | NLM_F_DUMP_INTR),
    seq: u32,
  })
  .chain(({ link, unknown, nestedFlag, flags, seq }) => {
    const attrs = [...linkAttributes(link, { nestedFlag }), ...unknown];
    return fc
      .shuffledSubarray(attrs, { minLength: attrs.length, maxLength: attrs.length })
      .map((order) => ({
        link,
        bytes: nlmsg(
          { type: linkMessageType(link), flags, seq },
          Buffer.concat([linkIfinfomsg(link), ...order]),
        ),
      }));
  });

/** A datagram of link messages, maybe ending in NLMSG_DONE or an NLMSG_ERROR. */
export interface DatagramCase {
  readonly links: readonly LinkMessage[];
  readonly bytes: Buffer;
  /** Offsets where messages start, plus the datagram length. */
  readonly boundaries: readonly number[];
}

export const datagramArb: fc.Arbitrary<DatagramCase> = fc
  .record({
    cases: fc.array(linkCaseArb, { minLength: 1, maxLength: 4 }),
    tail: fc.constantFrom('none', 'done', 'error'),
    status: s32,
  })
  .map(({ cases, tail, status }) => {
    const parts = cases.map((c) => c.bytes);
    if (tail === 'done') parts.push(doneMessage(status));
    if (tail === 'error') parts.push(errorMessage(status, Buffer.alloc(16)));
    const boundaries: number[] = [];
    let offset = 0;
    for (const p of parts) {
      boundaries.push(offset);
      offset += p.length;
    }
    boundaries.push(offset);
    return { links: cases.map((c) => c.link), bytes: Buffer.concat(parts), boundaries };
  });

/** Where the length fields of a valid datagram sit: nlmsg_len (4 bytes) and rta_len (2 bytes). */
export interface LengthField {
  readonly offset: number;
  readonly size: 2 | 4;
}

/** Length fields of a datagram built by these helpers (valid input only; not a decoder). */
export function lengthFields(bytes: Buffer): LengthField[] {
  const fields: LengthField[] = [];
  const attributes = (start: number, end: number): void => {
    let pos = start;
    while (pos + 4 <= end) {
      const len = bytes.readUInt16LE(pos);
      fields.push({ offset: pos, size: 2 });
      const type = bytes.readUInt16LE(pos + 2) & NLA_TYPE_MASK;
      if (type === IFLA_LINKINFO || type === IFLA_PROTO_DOWN_REASON) attributes(pos + 4, pos + len);
      pos += (len + 3) & ~3;
    }
  };
  let offset = 0;
  while (offset + 16 <= bytes.length) {
    const len = bytes.readUInt32LE(offset);
    const type = bytes.readUInt16LE(offset + 4);
    fields.push({ offset, size: 4 });
    if (type === RTM_NEWLINK || type === RTM_DELLINK) attributes(offset + 32, offset + len);
    offset += (len + 3) & ~3;
  }
  return fields;
}

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'length'; readonly field: number; readonly value: number; readonly relative: boolean }
  | { readonly kind: 'splice'; readonly at: number; readonly remove: number; readonly insert: Uint8Array };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('length' as const),
      field: fc.nat(),
      relative: fc.boolean(),
      value: fc.oneof(
        fc.integer({ min: -8, max: 8 }),
        fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 20, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff),
        u32,
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('splice' as const),
      at: fc.nat(),
      remove: fc.integer({ min: 0, max: 8 }),
      insert: fc.uint8Array({ maxLength: 8 }),
    }),
  },
);

/**
 * Apply mutations in order to a copy of `bytes`. Positions wrap modulo the current length;
 * length-field mutations target the fields of the original (valid) datagram and are dropped
 * when an earlier mutation cut the field off.
 */
export function applyMutations(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  const fields = lengthFields(bytes);
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    if (m.kind === 'flip') {
      if (out.length > 0) {
        const at = m.at % out.length;
        out[at] = (out[at] as number) ^ (1 << m.bit);
      }
    } else if (m.kind === 'truncate') {
      out = out.subarray(0, m.at % (out.length + 1));
    } else if (m.kind === 'length') {
      const field = fields.length > 0 ? fields[m.field % fields.length] : undefined;
      if (field !== undefined && field.offset + field.size <= out.length) {
        const max = field.size === 2 ? 0xffff : 0xffffffff;
        const old = field.size === 2 ? out.readUInt16LE(field.offset) : out.readUInt32LE(field.offset);
        const value = (((m.relative ? old + m.value : m.value) % (max + 1)) + max + 1) % (max + 1);
        if (field.size === 2) out.writeUInt16LE(value, field.offset);
        else out.writeUInt32LE(value, field.offset);
      }
    } else {
      const at = m.at % (out.length + 1);
      out = Buffer.concat([out.subarray(0, at), Buffer.from(m.insert), out.subarray(at + m.remove)]);
    }
  }
  return out;
}

/** A valid datagram with one to four mutations applied. */
export const mutatedDatagramArb: fc.Arbitrary<Buffer> = fc
  .tuple(datagramArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }))
  .map(([d, mutations]) => applyMutations(d.bytes, mutations));

/** Any bytes at all. */
export const randomBytesArb: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b));

/**
 * A well-formed RTM_NEWLINK/RTM_DELLINK/NLMSG_ERROR/NLMSG_DONE header around attribute soup:
 * a usually-whole ifinfomsg, then attributes mostly of known types (so the exact-size and
 * string getters run) with 1-byte, 4-byte, NUL-terminated or random payloads and sometimes a
 * wrong rta_len, including nested attributes with their own soup.
 */
export const attributeSoupArb: fc.Arbitrary<Buffer> = fc
  .record({
    type: fc.constantFrom(RTM_NEWLINK, RTM_DELLINK, NLMSG_ERROR, NLMSG_DONE),
    head: fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ minLength: 16, maxLength: 16 }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }) },
    ),
    attrs: fc.array(
      fc.record({
        type: fc.oneof(fc.constantFrom(...KNOWN_LINK_ATTRIBUTES, IFLA_LINKINFO | NLA_F_NESTED), u16),
        data: fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 1 }),
          fc.uint8Array({ minLength: 4, maxLength: 4 }),
          fc.uint8Array({ maxLength: 12 }),
          // string-like: NUL-terminated, sometimes with NULs inside
          fc.uint8Array({ maxLength: 12 }).map((b) => new Uint8Array([...b, 0])),
          fc.array(
            fc.record({ type: fc.constantFrom(IFLA_INFO_KIND, 2, 0), data: fc.uint8Array({ maxLength: 8 }) }),
            { maxLength: 3 },
          ).map((inner) => new Uint8Array(Buffer.concat(inner.map((i) => rtattr(i.type, Buffer.from(i.data)))))),
        ),
        // rta_len: usually the true one, sometimes anything.
        len: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: u16 }),
      }),
      { maxLength: 8 },
    ),
  })
  .map(({ type, head, attrs }) => {
    // head is usually a whole ifinfomsg, sometimes short of one or longer.
    const ifinfo = Buffer.from(head);
    const body = attrs.map((a) =>
      rtattr(a.type, Buffer.from(a.data), a.len === undefined ? {} : { len: a.len }),
    );
    return nlmsg({ type }, Buffer.concat([ifinfo, ...body]));
  });

/** Runs per property: NETLINK_FUZZ_RUNS when set (for long fuzz runs), else `fallback`. */
export function fuzzRuns(fallback: number): number {
  const fromEnv = Number(process.env.NETLINK_FUZZ_RUNS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : fallback;
}
