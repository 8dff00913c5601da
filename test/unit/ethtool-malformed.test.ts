// Malformed generic netlink / ethtool messages, one named row each: every one is refused with
// NetlinkDecodeError and the reason (and where it matters, the offset) the row names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME,
  CTRL_CMD_GETFAMILY,
  CTRL_CMD_NEWFAMILY,
  ETHTOOL_A_BITSET_BITS,
  ETHTOOL_A_BITSET_BITS_BIT,
  ETHTOOL_A_BITSET_BIT_INDEX,
  ETHTOOL_A_BITSET_BIT_VALUE,
  ETHTOOL_A_BITSET_MASK,
  ETHTOOL_A_BITSET_NOMASK,
  ETHTOOL_A_BITSET_SIZE,
  ETHTOOL_A_BITSET_VALUE,
  ETHTOOL_A_HEADER_DEV_INDEX,
  ETHTOOL_A_HEADER_DEV_NAME,
  ETHTOOL_A_LINKINFO_HEADER,
  ETHTOOL_A_LINKMODES_AUTONEG,
  ETHTOOL_A_LINKMODES_DUPLEX,
  ETHTOOL_A_LINKMODES_HEADER,
  ETHTOOL_A_LINKMODES_OURS,
  ETHTOOL_A_LINKMODES_SPEED,
  ETHTOOL_A_LINKSTATE_EXT_STATE,
  ETHTOOL_A_LINKSTATE_HEADER,
  ETHTOOL_A_LINKSTATE_LINK,
  ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT,
  ETHTOOL_A_LINKSTATE_SQI,
  ETHTOOL_MSG_LINKINFO_NTF,
  ETHTOOL_MSG_LINKMODES_GET_REPLY,
  ETHTOOL_MSG_LINKSTATE_GET_REPLY,
  GENL_ID_CTRL,
} from '../../src/ethtool/constants.js';
import { decodeFamily } from '../../src/ethtool/genl.js';
import { decodeLinkModes } from '../../src/ethtool/linkmodes.js';
import { decodeLinkState } from '../../src/ethtool/linkstate.js';
import { decodeEthtoolMessage } from '../../src/ethtool/message.js';
import { NetlinkDecodeError, type NetlinkDecodeReason } from '../../src/netlink/errors.js';
import { decodeMessages } from '../../src/netlink/message.js';
import { attr, bitWords, deviceHeader, flag, genlMessage, nest, str, u16, u32, u8 } from '../helpers/ethtool-bytes.js';

const FAMILY = 21;
const LM = ETHTOOL_MSG_LINKMODES_GET_REPLY;
const LS = ETHTOOL_MSG_LINKSTATE_GET_REPLY;
const lmHeader = deviceHeader(ETHTOOL_A_LINKMODES_HEADER, 3, 'eth3');
const lsHeader = deviceHeader(ETHTOOL_A_LINKSTATE_HEADER, 3, 'eth3');

function ours(...children: Buffer[]): Buffer {
  return genlMessage(FAMILY, LM, [lmHeader, nest(ETHTOOL_A_LINKMODES_OURS, ...children)]);
}

function bitEntry(...children: Buffer[]): Buffer {
  return nest(ETHTOOL_A_BITSET_BITS_BIT, ...children);
}

/** A 2-byte nlattr header claiming `len` bytes, then the given bytes (no padding fix-up). */
function rawAttr(len: number, type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(len, 0);
  head.writeUInt16LE(type, 2);
  return Buffer.concat([head, payload]);
}

interface Row {
  readonly name: string;
  readonly bytes: Buffer;
  readonly reason: NetlinkDecodeReason;
  /** Datagram offset the error must name, when the row pins it. */
  readonly offset?: number;
  readonly decode?: 'family' | 'ethtool';
}

const WORDS_121 = bitWords(121, []); // 16 bytes

const rows: Row[] = [
  // generic netlink framing
  { name: 'payload shorter than genlmsghdr', bytes: genlShort(2), reason: 'short_genlmsghdr', offset: 16 },
  { name: 'empty payload', bytes: genlShort(0), reason: 'short_genlmsghdr', offset: 16 },
  { name: 'message of another family', bytes: genlMessage(FAMILY + 1, LM, [lmHeader]), reason: 'unexpected_type', offset: 0 },
  // attribute framing
  {
    name: 'attribute past end',
    bytes: genlMessage(FAMILY, LM, [lmHeader, rawAttr(40, ETHTOOL_A_LINKMODES_SPEED, Buffer.alloc(4))]),
    reason: 'attribute_overrun',
    offset: 20 + lmHeader.length,
  },
  {
    name: 'attribute length below its header',
    bytes: genlMessage(FAMILY, LS, [lsHeader, rawAttr(3, ETHTOOL_A_LINKSTATE_LINK, Buffer.alloc(4))]),
    reason: 'bad_attribute_length',
  },
  {
    name: '2 stray bytes after the last attribute',
    bytes: genlMessage(FAMILY, LS, [lsHeader, Buffer.from([5, 0])]),
    reason: 'attribute_overrun',
  },
  {
    name: 'header nest overruns its parent',
    bytes: genlMessage(FAMILY, LM, [rawAttr(12, ETHTOOL_A_LINKMODES_HEADER | 0x8000, rawAttr(16, ETHTOOL_A_HEADER_DEV_INDEX, Buffer.alloc(4)))]),
    reason: 'attribute_overrun',
    offset: 24,
  },
  // exact sizes
  { name: 'u32 of 2 bytes (speed)', bytes: genlMessage(FAMILY, LM, [lmHeader, u16(ETHTOOL_A_LINKMODES_SPEED, 1000)]), reason: 'bad_attribute_size' },
  { name: 'u8 of 4 bytes (duplex)', bytes: genlMessage(FAMILY, LM, [lmHeader, u32(ETHTOOL_A_LINKMODES_DUPLEX, 1)]), reason: 'bad_attribute_size' },
  { name: 'u8 of 0 bytes (autoneg)', bytes: genlMessage(FAMILY, LM, [lmHeader, attr(ETHTOOL_A_LINKMODES_AUTONEG)]), reason: 'bad_attribute_size' },
  { name: 'u32 of 2 bytes (SQI)', bytes: genlMessage(FAMILY, LS, [lsHeader, u16(ETHTOOL_A_LINKSTATE_SQI, 3)]), reason: 'bad_attribute_size' },
  { name: 'u8 of 4 bytes (ext_state)', bytes: genlMessage(FAMILY, LS, [lsHeader, u32(ETHTOOL_A_LINKSTATE_EXT_STATE, 4)]), reason: 'bad_attribute_size' },
  { name: 'u32 of 2 bytes (EXT_DOWN_CNT)', bytes: genlMessage(FAMILY, LS, [lsHeader, u16(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, 3)]), reason: 'bad_attribute_size' },
  {
    name: 'EXT_DOWN_CNT of 8 bytes (a u64, as an unmerged draft had it)',
    bytes: genlMessage(FAMILY, LS, [lsHeader, attr(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, Buffer.alloc(8))]),
    reason: 'bad_attribute_size',
  },
  {
    name: 'DEV_INDEX of 2 bytes',
    bytes: genlMessage(FAMILY, LS, [nest(ETHTOOL_A_LINKSTATE_HEADER, u16(ETHTOOL_A_HEADER_DEV_INDEX, 3))]),
    reason: 'bad_attribute_size',
    offset: 24,
  },
  {
    name: 'DEV_NAME without NUL',
    bytes: genlMessage(FAMILY, LS, [nest(ETHTOOL_A_LINKSTATE_HEADER, u32(ETHTOOL_A_HEADER_DEV_INDEX, 3), attr(ETHTOOL_A_HEADER_DEV_NAME, Buffer.from('eth3')))]),
    reason: 'bad_string',
  },
  // required attributes
  { name: 'LINKMODES without header', bytes: genlMessage(FAMILY, LM, [u32(ETHTOOL_A_LINKMODES_SPEED, 1000)]), reason: 'missing_attribute', offset: 0 },
  {
    name: 'LINKSTATE header without DEV_INDEX',
    bytes: genlMessage(FAMILY, LS, [nest(ETHTOOL_A_LINKSTATE_HEADER, str(ETHTOOL_A_HEADER_DEV_NAME, 'eth3'))]),
    reason: 'missing_attribute',
  },
  { name: 'LINKINFO without header', bytes: genlMessage(FAMILY, ETHTOOL_MSG_LINKINFO_NTF, []), reason: 'missing_attribute' },
  {
    name: 'LINKINFO with a bad attribute after the header',
    bytes: genlMessage(FAMILY, ETHTOOL_MSG_LINKINFO_NTF, [deviceHeader(ETHTOOL_A_LINKINFO_HEADER, 3), rawAttr(9, 2, Buffer.alloc(2))]),
    reason: 'attribute_overrun',
  },
  // bitsets
  {
    name: 'bitset size mismatch (12-byte value for 121 bits)',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), attr(ETHTOOL_A_BITSET_VALUE, Buffer.alloc(12)), attr(ETHTOOL_A_BITSET_MASK, Buffer.alloc(12))),
    reason: 'bad_bitset',
  },
  {
    name: 'bitset mask of another size than the value',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), attr(ETHTOOL_A_BITSET_VALUE, WORDS_121), attr(ETHTOOL_A_BITSET_MASK, Buffer.alloc(20))),
    reason: 'bad_bitset',
  },
  {
    name: 'compact bitset without size',
    bytes: ours(attr(ETHTOOL_A_BITSET_VALUE, WORDS_121), attr(ETHTOOL_A_BITSET_MASK, WORDS_121)),
    reason: 'bad_bitset',
  },
  {
    name: 'compact bitset with a mask but no value',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), attr(ETHTOOL_A_BITSET_MASK, WORDS_121)),
    reason: 'bad_bitset',
  },
  {
    name: 'mask in a list (NOMASK) bitset',
    bytes: ours(flag(ETHTOOL_A_BITSET_NOMASK), u32(ETHTOOL_A_BITSET_SIZE, 121), attr(ETHTOOL_A_BITSET_VALUE, WORDS_121), attr(ETHTOOL_A_BITSET_MASK, WORDS_121)),
    reason: 'bad_bitset',
  },
  {
    name: 'value/mask bitset without its mask',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), attr(ETHTOOL_A_BITSET_VALUE, WORDS_121)),
    reason: 'bad_bitset',
  },
  {
    name: 'bitset with both BITS and VALUE',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS), attr(ETHTOOL_A_BITSET_VALUE, WORDS_121), attr(ETHTOOL_A_BITSET_MASK, WORDS_121)),
    reason: 'bad_bitset',
  },
  { name: 'bitset with neither BITS nor VALUE', bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121)), reason: 'bad_bitset' },
  {
    name: 'bitset size above ETHNL_MAX_BITSET_SIZE',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 0x8000), nest(ETHTOOL_A_BITSET_BITS)),
    reason: 'bad_bitset',
  },
  {
    name: 'huge size with a tiny value',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 0xffffffff), attr(ETHTOOL_A_BITSET_VALUE, Buffer.alloc(4)), attr(ETHTOOL_A_BITSET_MASK, Buffer.alloc(4))),
    reason: 'bad_bitset',
  },
  { name: 'bitset size of 2 bytes', bytes: ours(u16(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS)), reason: 'bad_attribute_size' },
  { name: 'NOMASK flag with a payload', bytes: ours(u8(ETHTOOL_A_BITSET_NOMASK, 1), u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS)), reason: 'bad_attribute_size' },
  {
    name: 'bit without an index',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS, bitEntry(flag(ETHTOOL_A_BITSET_BIT_VALUE)))),
    reason: 'bad_bitset',
  },
  {
    name: 'bit index at the size',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS, bitEntry(u32(ETHTOOL_A_BITSET_BIT_INDEX, 121)))),
    reason: 'bad_bitset',
  },
  {
    name: 'bit VALUE flag with a payload',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS, bitEntry(u32(ETHTOOL_A_BITSET_BIT_INDEX, 5), u8(ETHTOOL_A_BITSET_BIT_VALUE, 1)))),
    reason: 'bad_attribute_size',
  },
  {
    name: 'bit index of 2 bytes',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS, bitEntry(u16(ETHTOOL_A_BITSET_BIT_INDEX, 5)))),
    reason: 'bad_attribute_size',
  },
  {
    name: 'bit entry overruns the BITS nest',
    bytes: ours(u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS, rawAttr(40, ETHTOOL_A_BITSET_BITS_BIT | 0x8000, Buffer.alloc(8)))),
    reason: 'attribute_overrun',
  },
  // controller
  { name: 'NEWFAMILY without FAMILY_ID', bytes: genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [str(2, 'ethtool')]), reason: 'missing_attribute', decode: 'family' },
  { name: 'FAMILY_ID as a u32', bytes: genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [u32(CTRL_ATTR_FAMILY_ID, 21)]), reason: 'bad_attribute_size', decode: 'family' },
  {
    name: 'multicast group without id',
    bytes: genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [u16(CTRL_ATTR_FAMILY_ID, 21), nest(CTRL_ATTR_MCAST_GROUPS, nest(1, str(CTRL_ATTR_MCAST_GRP_NAME, 'monitor')))]),
    reason: 'missing_attribute',
    decode: 'family',
  },
  {
    name: 'multicast group name without NUL',
    bytes: genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [
      u16(CTRL_ATTR_FAMILY_ID, 21),
      nest(CTRL_ATTR_MCAST_GROUPS, nest(1, attr(CTRL_ATTR_MCAST_GRP_NAME, Buffer.from('monitor')), u32(CTRL_ATTR_MCAST_GRP_ID, 6))),
    ]),
    reason: 'bad_string',
    decode: 'family',
  },
  { name: 'controller command other than NEWFAMILY', bytes: genlMessage(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, []), reason: 'unexpected_type', decode: 'family' },
  { name: 'NEWFAMILY from another nlmsg_type', bytes: genlMessage(FAMILY, CTRL_CMD_NEWFAMILY, [u16(CTRL_ATTR_FAMILY_ID, 21)]), reason: 'unexpected_type', decode: 'family' },
  { name: 'controller reply with a short genlmsghdr', bytes: genlShort(3, GENL_ID_CTRL), reason: 'short_genlmsghdr', decode: 'family' },
];

function genlShort(payload: number, type = FAMILY): Buffer {
  const b = Buffer.alloc(16 + payload);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(type, 4);
  if (payload > 0) b[16] = LM;
  return b;
}

function decodeRow(row: Row): void {
  for (const msg of decodeMessages(row.bytes)) {
    if (row.decode === 'family') decodeFamily(msg);
    else decodeEthtoolMessage(msg, FAMILY);
  }
}

describe('malformed ethtool messages', () => {
  for (const row of rows) {
    it(`${row.name}: ${row.reason}`, () => {
      assert.throws(
        () => decodeRow(row),
        (e: unknown) => {
          assert.ok(e instanceof NetlinkDecodeError, `not a NetlinkDecodeError: ${String(e)}`);
          assert.equal(e.reason, row.reason, e.message);
          if (row.offset !== undefined) assert.equal(e.offset, row.offset, e.message);
          assert.ok(e.offset >= 0 && e.offset <= row.bytes.length, `offset ${e.offset} within the datagram`);
          assert.ok(!e.message.includes('\n'), 'one-line message');
          return true;
        },
      );
    });
  }

  it('decoders handed another command refuse it as unexpected_type', () => {
    const state = decodeMessages(genlMessage(FAMILY, LS, [lsHeader]))[0]!;
    const modes = decodeMessages(genlMessage(FAMILY, LM, [lmHeader]))[0]!;
    const isUnexpected = (e: unknown) => e instanceof NetlinkDecodeError && e.reason === 'unexpected_type';
    assert.throws(() => decodeLinkModes(state), isUnexpected);
    assert.throws(() => decodeLinkState(modes), isUnexpected);
  });

  it('the rows are well-formed except for their one fault: the same messages without it decode', () => {
    // controls for a few rows, so that a row cannot pass by failing for another reason
    const controls: Buffer[] = [
      genlMessage(FAMILY, LM, [lmHeader, u32(ETHTOOL_A_LINKMODES_SPEED, 1000)]),
      genlMessage(FAMILY, LS, [nest(ETHTOOL_A_LINKSTATE_HEADER, u32(ETHTOOL_A_HEADER_DEV_INDEX, 3))]),
      ours(u32(ETHTOOL_A_BITSET_SIZE, 121), attr(ETHTOOL_A_BITSET_VALUE, WORDS_121), attr(ETHTOOL_A_BITSET_MASK, WORDS_121)),
      ours(u32(ETHTOOL_A_BITSET_SIZE, 121), nest(ETHTOOL_A_BITSET_BITS, bitEntry(u32(ETHTOOL_A_BITSET_BIT_INDEX, 120), flag(ETHTOOL_A_BITSET_BIT_VALUE)))),
      ours(flag(ETHTOOL_A_BITSET_NOMASK), u32(ETHTOOL_A_BITSET_SIZE, 121), attr(ETHTOOL_A_BITSET_VALUE, WORDS_121)),
      ours(u32(ETHTOOL_A_BITSET_SIZE, 0x7fff), nest(ETHTOOL_A_BITSET_BITS)),
      genlMessage(FAMILY, ETHTOOL_MSG_LINKINFO_NTF, [deviceHeader(ETHTOOL_A_LINKINFO_HEADER, 3)]),
    ];
    for (const bytes of controls) decodeEthtoolMessage(decodeMessages(bytes)[0]!, FAMILY);
    decodeFamily(
      decodeMessages(
        genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [u16(CTRL_ATTR_FAMILY_ID, 21), nest(CTRL_ATTR_MCAST_GROUPS, nest(1, str(CTRL_ATTR_MCAST_GRP_NAME, 'monitor'), u32(CTRL_ATTR_MCAST_GRP_ID, 6)))]),
      )[0]!,
    );
  });
});
