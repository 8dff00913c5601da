// ethtool netlink codec: request bytes against the uapi layout written out by hand, and the
// decoders' handling of each attribute (absent stays undefined, SPEED_UNKNOWN, duplex and ext
// state names, both bitset forms) on replies built with test/helpers/ethtool-bytes.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME,
  CTRL_ATTR_VERSION,
  CTRL_CMD_NEWFAMILY,
  ETHTOOL_A_LINKINFO_HEADER,
  ETHTOOL_A_LINKMODES_AUTONEG,
  ETHTOOL_A_LINKMODES_DUPLEX,
  ETHTOOL_A_LINKMODES_HEADER,
  ETHTOOL_A_LINKMODES_OURS,
  ETHTOOL_A_LINKMODES_SPEED,
  ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT,
  ETHTOOL_A_LINKSTATE_EXT_STATE,
  ETHTOOL_A_LINKSTATE_EXT_SUBSTATE,
  ETHTOOL_A_LINKSTATE_HEADER,
  ETHTOOL_A_LINKSTATE_LINK,
  ETHTOOL_A_LINKSTATE_SQI,
  ETHTOOL_MSG_LINKINFO_GET_REPLY,
  ETHTOOL_MSG_LINKINFO_NTF,
  ETHTOOL_MSG_LINKMODES_GET_REPLY,
  ETHTOOL_MSG_LINKMODES_NTF,
  ETHTOOL_MSG_LINKSTATE_GET_REPLY,
  GENL_ID_CTRL,
  LINK_EXT_STATE_NAMES,
  LINK_MODE_NAMES,
} from '../../src/ethtool/constants.js';
import { decodeFamily, decodeGenlHeader, encodeGetFamilyRequest, multicastGroupId } from '../../src/ethtool/genl.js';
import { decodeLinkModes, encodeLinkModesRequest, linkModeName, linkModeSpeedMbps } from '../../src/ethtool/linkmodes.js';
import { decodeLinkState, encodeLinkStateRequest, linkExtStateName, linkExtSubstateName } from '../../src/ethtool/linkstate.js';
import { decodeEthtoolMessage } from '../../src/ethtool/message.js';
import { NetlinkDecodeError } from '../../src/netlink/errors.js';
import { decodeMessages } from '../../src/netlink/message.js';
import type { NetlinkMessage } from '../../src/netlink/types.js';
import {
  attr,
  compactBitset,
  deviceHeader,
  genlMessage,
  nest,
  str,
  u16,
  u32,
  u8,
  verboseBitset,
} from '../helpers/ethtool-bytes.js';

const FAMILY = 21;

function one(bytes: Buffer): NetlinkMessage {
  const messages = decodeMessages(bytes);
  assert.equal(messages.length, 1);
  return messages[0]!;
}

function linkModesReply(attrs: Buffer[], cmd = ETHTOOL_MSG_LINKMODES_GET_REPLY): NetlinkMessage {
  return one(genlMessage(FAMILY, cmd, [deviceHeader(ETHTOOL_A_LINKMODES_HEADER, 7, 'eth7'), ...attrs]));
}

function linkStateReply(attrs: Buffer[]): NetlinkMessage {
  return one(genlMessage(FAMILY, ETHTOOL_MSG_LINKSTATE_GET_REPLY, [deviceHeader(ETHTOOL_A_LINKSTATE_HEADER, 7, 'eth7'), ...attrs]));
}

describe('ethtool request encoders', () => {
  it('CTRL_CMD_GETFAMILY "ethtool": nlmsghdr, genlmsghdr, CTRL_ATTR_FAMILY_NAME', () => {
    assert.equal(
      encodeGetFamilyRequest(0x01020304).toString('hex'),
      [
        '20000000', // nlmsg_len 32
        '1000', // GENL_ID_CTRL
        '0100', // NLM_F_REQUEST
        '04030201', // seq
        '00000000', // pid
        '03', // CTRL_CMD_GETFAMILY
        '01', // version
        '0000', // reserved
        '0c00', // nla_len 12
        '0200', // CTRL_ATTR_FAMILY_NAME
        '657468746f6f6c00', // "ethtool\0"
      ].join(''),
    );
  });

  it('CTRL_CMD_GETFAMILY pads a name whose attribute is not a multiple of 4', () => {
    const b = encodeGetFamilyRequest(1, 'nlctrl'); // 4 + 7 = 11 -> padded to 12
    assert.equal(b.length, 32);
    assert.equal(b.readUInt16LE(20), 11);
    assert.equal(b.toString('utf8', 24, 30), 'nlctrl');
    assert.equal(b[30], 0);
    assert.equal(b[31], 0);
  });

  it('ETHTOOL_MSG_LINKMODES_GET: header nest (NLA_F_NESTED) with DEV_INDEX and FLAGS = COMPACT_BITSETS', () => {
    assert.equal(
      encodeLinkModesRequest(0x15, 9, 0x11223344).toString('hex'),
      [
        '28000000', // nlmsg_len 40
        '1500', // family id
        '0100', // NLM_F_REQUEST
        '09000000', // seq
        '00000000',
        '04', // ETHTOOL_MSG_LINKMODES_GET
        '01', // ETHTOOL_GENL_VERSION
        '0000',
        '1400', // nla_len 20
        '0180', // ETHTOOL_A_LINKMODES_HEADER | NLA_F_NESTED
        '0800', '0100', '44332211', // ETHTOOL_A_HEADER_DEV_INDEX
        '0800', '0300', '01000000', // ETHTOOL_A_HEADER_FLAGS = ETHTOOL_FLAG_COMPACT_BITSETS
      ].join(''),
    );
  });

  it('ETHTOOL_MSG_LINKSTATE_GET: header nest with DEV_INDEX and FLAGS = ETHTOOL_FLAG_STATS (asks for EXT_DOWN_CNT)', () => {
    assert.equal(
      encodeLinkStateRequest(0x15, 10, 3).toString('hex'),
      [
        '28000000', '1500', '0100', '0a000000', '00000000', // nlmsghdr: len 40, family 0x15, NLM_F_REQUEST, seq 10
        '06', '01', '0000', // genlmsghdr: LINKSTATE_GET, version 1
        '1400', '0180', // ETHTOOL_A_LINKSTATE_HEADER | NLA_F_NESTED, 20 bytes
        '0800', '0100', '03000000', // ETHTOOL_A_HEADER_DEV_INDEX = 3
        '0800', '0300', '04000000', // ETHTOOL_A_HEADER_FLAGS = ETHTOOL_FLAG_STATS
      ].join(''),
    );
  });

  it('ETHTOOL_MSG_LINKSTATE_GET with flags 0: DEV_INDEX only (for kernels before 6.2, which refuse the flag)', () => {
    assert.equal(
      encodeLinkStateRequest(0x15, 10, 3, 0).toString('hex'),
      ['20000000', '1500', '0100', '0a000000', '00000000', '06', '01', '0000', '0c00', '0180', '0800', '0100', '03000000'].join(''),
    );
  });

  it('flags 0 leaves ETHTOOL_A_HEADER_FLAGS out (bit-by-bit bitsets)', () => {
    assert.equal(encodeLinkModesRequest(0x15, 1, 3, 0).length, 32);
  });

  it('caller bugs are RangeErrors: seq, ifindex, family id, family name', () => {
    assert.throws(() => encodeLinkModesRequest(21, -1, 3), RangeError);
    assert.throws(() => encodeLinkModesRequest(21, 2 ** 32, 3), RangeError);
    assert.throws(() => encodeLinkModesRequest(21, 1, 0), RangeError);
    assert.throws(() => encodeLinkStateRequest(21, 1, 2 ** 31), RangeError);
    assert.throws(() => encodeLinkStateRequest(21, 1, 1.5), RangeError);
    assert.throws(() => encodeLinkStateRequest(21, 1, 1, -1), RangeError);
    assert.throws(() => encodeLinkStateRequest(15, 1, 1), RangeError);
    assert.throws(() => encodeLinkStateRequest(0x10000, 1, 1), RangeError);
    assert.throws(() => encodeGetFamilyRequest(1, ''), RangeError);
    assert.throws(() => encodeGetFamilyRequest(1, 'a-name-too-long!'), RangeError);
  });
});

describe('CTRL_CMD_NEWFAMILY', () => {
  it('decodes id, name, version and every multicast group', () => {
    const family = decodeFamily(
      one(
        genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [
          str(CTRL_ATTR_FAMILY_NAME, 'ethtool'),
          u16(CTRL_ATTR_FAMILY_ID, 0x1f),
          u32(CTRL_ATTR_VERSION, 1),
          nest(
            CTRL_ATTR_MCAST_GROUPS,
            nest(1, u32(CTRL_ATTR_MCAST_GRP_ID, 6), str(CTRL_ATTR_MCAST_GRP_NAME, 'monitor')),
            nest(2, str(CTRL_ATTR_MCAST_GRP_NAME, 'other'), u32(CTRL_ATTR_MCAST_GRP_ID, 9)),
          ),
        ]),
      ),
    );
    assert.deepEqual(family, {
      familyId: 0x1f,
      name: 'ethtool',
      version: 1,
      hdrSize: undefined,
      maxAttr: undefined,
      multicastGroups: [
        { name: 'monitor', id: 6 },
        { name: 'other', id: 9 },
      ],
    });
    assert.equal(multicastGroupId(family, 'monitor'), 6);
    assert.equal(multicastGroupId(family, 'nothere'), undefined);
  });

  it('a family without groups has an empty list, and absent fields stay undefined', () => {
    const family = decodeFamily(one(genlMessage(GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, [u16(CTRL_ATTR_FAMILY_ID, 0x20)])));
    assert.deepEqual(family, { familyId: 0x20, name: undefined, version: undefined, hdrSize: undefined, maxAttr: undefined, multicastGroups: [] });
  });

  it('decodeGenlHeader reads cmd and version', () => {
    assert.deepEqual(decodeGenlHeader(one(genlMessage(FAMILY, 5, [], { version: 3 }))), { cmd: 5, version: 3 });
  });
});

describe('LINKMODES decoding', () => {
  it('absent attributes stay undefined — never 0 or false', () => {
    assert.deepEqual(decodeLinkModes(linkModesReply([])), {
      ifindex: 7,
      ifname: 'eth7',
      speedMbps: undefined,
      duplex: undefined,
      autoneg: undefined,
      advertisedSpeedMaxMbps: undefined,
      supportedSpeedMaxMbps: undefined,
    });
  });

  it('speed: SPEED_UNKNOWN and anything above INT_MAX are undefined; 0 stays 0', () => {
    const speed = (v: number) => decodeLinkModes(linkModesReply([u32(ETHTOOL_A_LINKMODES_SPEED, v)])).speedMbps;
    assert.equal(speed(0xffffffff), undefined);
    assert.equal(speed(0x80000000), undefined);
    assert.equal(speed(0x7fffffff), 0x7fffffff);
    assert.equal(speed(0), 0);
    assert.equal(speed(2500), 2500);
  });

  it('duplex: 1 full, 0 half, DUPLEX_UNKNOWN and other values unknown', () => {
    const duplex = (v: number) => decodeLinkModes(linkModesReply([u8(ETHTOOL_A_LINKMODES_DUPLEX, v)])).duplex;
    assert.equal(duplex(1), 'full');
    assert.equal(duplex(0), 'half');
    assert.equal(duplex(0xff), 'unknown');
    assert.equal(duplex(2), 'unknown');
  });

  it('autoneg: any non-zero value is on', () => {
    const autoneg = (v: number) => decodeLinkModes(linkModesReply([u8(ETHTOOL_A_LINKMODES_AUTONEG, v)])).autoneg;
    assert.equal(autoneg(0), false);
    assert.equal(autoneg(1), true);
    assert.equal(autoneg(7), true);
  });

  it('fastest advertised and supported modes from a compact bitset spanning several words', () => {
    // value: 100baseT/Full (3), 2500baseT/Full (47); mask adds 10000baseKR/Full (19) and 50000baseKR/Full (52)
    const lm = decodeLinkModes(linkModesReply([compactBitset(ETHTOOL_A_LINKMODES_OURS, 121, [3, 47], [3, 19, 47, 52])]));
    assert.equal(lm.advertisedSpeedMaxMbps, 2500);
    assert.equal(lm.supportedSpeedMaxMbps, 50000);
  });

  it('the same from the bit-by-bit form, where only BIT_VALUE marks an advertised bit', () => {
    const lm = decodeLinkModes(linkModesReply([verboseBitset(ETHTOOL_A_LINKMODES_OURS, 121, [3, 47], [3, 19, 47, 52])]));
    assert.equal(lm.advertisedSpeedMaxMbps, 2500);
    assert.equal(lm.supportedSpeedMaxMbps, 50000);
  });

  it('bits without a speed (Autoneg, TP, Pause, FEC) and bits unknown to the table count for nothing', () => {
    const lm = decodeLinkModes(linkModesReply([compactBitset(ETHTOOL_A_LINKMODES_OURS, 160, [6, 7, 13, 50, 150], [6, 7, 13, 50, 150])]));
    assert.equal(lm.advertisedSpeedMaxMbps, undefined);
    assert.equal(lm.supportedSpeedMaxMbps, undefined);
  });

  it('compact bits at or past SIZE in the last word are ignored, as the kernel clears them', () => {
    // size 40: bit 37 (100000baseSR4) is inside; bit 41 (1000baseX) sits in the last word past the size
    const ours = (bits: number[]): Buffer => {
      const words = Buffer.alloc(8);
      for (const b of bits) words.writeUInt32LE((words.readUInt32LE(4) | (1 << (b - 32))) >>> 0, 4);
      return nest(ETHTOOL_A_LINKMODES_OURS, u32(2, 40), attr(4, words), attr(5, words));
    };
    assert.equal(decodeLinkModes(linkModesReply([ours([37, 41])])).advertisedSpeedMaxMbps, 100000);
    assert.equal(decodeLinkModes(linkModesReply([ours([41])])).advertisedSpeedMaxMbps, undefined);
    assert.equal(decodeLinkModes(linkModesReply([ours([39])])).supportedSpeedMaxMbps, 100000);
  });

  it('a list bitset (NOMASK) in OURS gives advertised modes and no supported ones', () => {
    const lm = decodeLinkModes(linkModesReply([compactBitset(ETHTOOL_A_LINKMODES_OURS, 121, [12])]));
    assert.equal(lm.advertisedSpeedMaxMbps, 10000);
    assert.equal(lm.supportedSpeedMaxMbps, undefined);
  });

  it('an empty bitset (as veth sends) gives no maximum, not 0', () => {
    const lm = decodeLinkModes(linkModesReply([compactBitset(ETHTOOL_A_LINKMODES_OURS, 121, [], [])]));
    assert.equal(lm.advertisedSpeedMaxMbps, undefined);
    assert.equal(lm.supportedSpeedMaxMbps, undefined);
  });

  it('unknown attributes and unknown header attributes are skipped', () => {
    const m = one(
      genlMessage(FAMILY, ETHTOOL_MSG_LINKMODES_GET_REPLY, [
        nest(ETHTOOL_A_LINKMODES_HEADER, u32(4, 99), u32(1, 7), str(2, 'eth7'), attr(9, Buffer.from([1, 2, 3]))),
        attr(60, Buffer.from('whatever')),
        u32(ETHTOOL_A_LINKMODES_SPEED, 1000),
      ]),
    );
    const lm = decodeLinkModes(m);
    assert.equal(lm.ifindex, 7);
    assert.equal(lm.speedMbps, 1000);
  });

  it('link mode table: kernel names in bit order, speeds from the name', () => {
    assert.equal(LINK_MODE_NAMES.length, 126);
    assert.equal(new Set(LINK_MODE_NAMES).size, LINK_MODE_NAMES.length);
    const spot: [number, string, number | undefined][] = [
      [0, '10baseT_Half', 10],
      [6, 'Autoneg', undefined],
      [12, '10000baseT_Full', 10000],
      [20, '10000baseR_FEC', 10000],
      [41, '1000baseX_Full', 1000],
      [49, 'FEC_NONE', undefined],
      [74, 'FEC_LLRS', undefined],
      [92, '10baseT1L_Full', 10],
      [97, '800000baseSR8_Full', 800000],
      [102, '10baseT1BRR_Full', 10],
      [121, '1600000baseCR8_Full', 1600000],
      [125, '25000baseLR_Full', 25000],
    ];
    for (const [bit, name, speed] of spot) {
      assert.equal(linkModeName(bit), name, `bit ${bit}`);
      assert.equal(linkModeSpeedMbps(bit), speed, `bit ${bit}`);
    }
    assert.equal(linkModeName(126), undefined);
    assert.equal(linkModeSpeedMbps(126), undefined);
  });
});

describe('LINKSTATE decoding', () => {
  it('absent attributes stay undefined', () => {
    assert.deepEqual(decodeLinkState(linkStateReply([])), {
      ifindex: 7,
      ifname: 'eth7',
      link: undefined,
      sqi: undefined,
      sqiMax: undefined,
      extState: undefined,
      extSubstate: undefined,
      linkDownEvents: undefined,
    });
  });

  it('EXT_DOWN_CNT: the PHY link-down count when present (0 stays 0, u32 above 2^31 positive), undefined when absent', () => {
    assert.equal(decodeLinkState(linkStateReply([u8(ETHTOOL_A_LINKSTATE_LINK, 1), u32(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, 7)])).linkDownEvents, 7);
    assert.equal(decodeLinkState(linkStateReply([u32(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, 0)])).linkDownEvents, 0);
    assert.equal(decodeLinkState(linkStateReply([u32(ETHTOOL_A_LINKSTATE_EXT_DOWN_CNT, 0xfffffffe)])).linkDownEvents, 0xfffffffe);
    assert.equal(decodeLinkState(linkStateReply([u8(ETHTOOL_A_LINKSTATE_LINK, 1)])).linkDownEvents, undefined);
  });

  it('SQI 0 is 0, not absent', () => {
    const ls = decodeLinkState(linkStateReply([u32(ETHTOOL_A_LINKSTATE_SQI, 0)]));
    assert.equal(ls.sqi, 0);
    assert.equal(ls.sqiMax, undefined);
  });

  it('every ext_state value in the table has its kernel name; others are unknown_<n>', () => {
    const names = LINK_EXT_STATE_NAMES.map((_, v) => decodeLinkState(linkStateReply([u8(ETHTOOL_A_LINKSTATE_EXT_STATE, v)])).extState);
    assert.deepEqual(names.slice(0, 11), [
      'autoneg',
      'link_training_failure',
      'link_logical_mismatch',
      'bad_signal_integrity',
      'no_cable',
      'cable_issue',
      'eeprom_issue',
      'calibration_failure',
      'power_budget_exceeded',
      'overheat',
      'module',
    ]);
    assert.equal(decodeLinkState(linkStateReply([u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 255)])).extState, 'unknown_255');
    assert.equal(linkExtStateName(13), 'unknown_13');
  });

  it('substates are named within their state; unknown ones, or one without a state, are unknown_<n>', () => {
    const sub = (state: number | undefined, substate: number) =>
      decodeLinkState(
        linkStateReply([
          ...(state === undefined ? [] : [u8(ETHTOOL_A_LINKSTATE_EXT_STATE, state)]),
          u8(ETHTOOL_A_LINKSTATE_EXT_SUBSTATE, substate),
        ]),
      ).extSubstate;
    assert.equal(sub(0, 6), 'autoneg_no_hcd');
    assert.equal(sub(2, 5), 'link_logical_mismatch_rs_fec_is_not_locked');
    assert.equal(sub(3, 4), 'bad_signal_integrity_serdes_alos');
    assert.equal(sub(5, 2), 'cable_issue_cable_test_failure');
    assert.equal(sub(0, 7), 'unknown_7');
    assert.equal(sub(4, 1), 'unknown_1'); // no_cable has no substates
    assert.equal(sub(undefined, 1), 'unknown_1');
    assert.equal(sub(0, 0), 'unknown_0');
    assert.equal(linkExtSubstateName(1, 1), 'link_training_kr_frame_lock_not_acquired');
  });

  it('the substate is read regardless of attribute order', () => {
    const ls = decodeLinkState(linkStateReply([u8(ETHTOOL_A_LINKSTATE_EXT_SUBSTATE, 2), u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 0), u8(ETHTOOL_A_LINKSTATE_LINK, 0)]));
    assert.equal(ls.extState, 'autoneg');
    assert.equal(ls.extSubstate, 'autoneg_ack_not_received');
    assert.equal(ls.link, false);
  });
});

describe('decodeEthtoolMessage', () => {
  it('dispatches on the genl command', () => {
    const modes = decodeEthtoolMessage(linkModesReply([], ETHTOOL_MSG_LINKMODES_NTF), FAMILY);
    assert.equal(modes.kind, 'linkmodes');
    assert.ok(modes.kind === 'linkmodes' && modes.notification);
    const reply = decodeEthtoolMessage(linkModesReply([]), FAMILY);
    assert.ok(reply.kind === 'linkmodes' && !reply.notification);
    const state = decodeEthtoolMessage(linkStateReply([u8(ETHTOOL_A_LINKSTATE_LINK, 1)]), FAMILY);
    assert.ok(state.kind === 'linkstate' && state.linkState.link === true);
    for (const cmd of [ETHTOOL_MSG_LINKINFO_NTF, ETHTOOL_MSG_LINKINFO_GET_REPLY]) {
      const info = decodeEthtoolMessage(one(genlMessage(FAMILY, cmd, [deviceHeader(ETHTOOL_A_LINKINFO_HEADER, 4, 'tap0'), u8(2, 3)])), FAMILY);
      assert.deepEqual(info, { kind: 'linkinfo', notification: cmd === ETHTOOL_MSG_LINKINFO_NTF, linkInfo: { ifindex: 4, ifname: 'tap0' } });
    }
  });

  it('other commands of the monitor group are "other", undecoded — even with attributes no decoder would accept', () => {
    const features = one(genlMessage(FAMILY, 13 /* ETHTOOL_MSG_FEATURES_NTF */, [attr(1, Buffer.from([1]))]));
    assert.deepEqual(decodeEthtoolMessage(features, FAMILY), { kind: 'other', cmd: 13 });
  });

  it('a message of another family is unexpected_type', () => {
    assert.throws(
      () => decodeEthtoolMessage(linkModesReply([]), FAMILY + 1),
      (e: unknown) => e instanceof NetlinkDecodeError && e.reason === 'unexpected_type',
    );
  });

  it('SQI survives the dispatcher unchanged', () => {
    const e = decodeEthtoolMessage(linkStateReply([u32(ETHTOOL_A_LINKSTATE_SQI, 3), u32(4, 7)]), FAMILY);
    assert.ok(e.kind === 'linkstate');
    assert.equal(e.linkState.sqi, 3);
    assert.equal(e.linkState.sqiMax, 7);
  });

  it('LINKSTATE and LINKMODES attribute numbers do not leak into each other', () => {
    // type 5 is SPEED in LINKMODES and EXT_STATE in LINKSTATE
    assert.equal(ETHTOOL_A_LINKMODES_SPEED, ETHTOOL_A_LINKSTATE_EXT_STATE);
    const lm = decodeLinkModes(linkModesReply([u32(ETHTOOL_A_LINKMODES_SPEED, 1000)]));
    assert.equal(lm.speedMbps, 1000);
    const ls = decodeLinkState(linkStateReply([u8(ETHTOOL_A_LINKSTATE_EXT_STATE, 4)]));
    assert.equal(ls.extState, 'no_cable');
  });
});
