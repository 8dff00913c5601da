// Property tests for the netlink decoder: whatever the bytes, decoding either succeeds with
// sane values or throws NetlinkDecodeError — never RangeError, TypeError or a hang — and
// built messages decode back to the values they were built from.
// NETLINK_FUZZ_RUNS=200000 turns these into a longer fuzz run.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { NETLINK_DECODE_REASONS, NetlinkDecodeError } from '../../src/netlink/errors.js';
import { NLMSG_ERROR } from '../../src/netlink/constants.js';
import { RTM_DELLINK, RTM_NEWLINK } from '../../src/rtnetlink/constants.js';
import { decodeLink } from '../../src/rtnetlink/link.js';
import { decodeErrorMessage, decodeMessages } from '../../src/netlink/message.js';
import type { LinkMessage } from '../../src/netlink/types.js';
import {
  attributeSoupArb,
  datagramArb,
  fuzzRuns,
  linkCaseArb,
  mutatedDatagramArb,
  randomBytesArb,
} from '../helpers/netlink-arbitraries.js';

const U32_MAX = 0xffffffff;

function isU32(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= U32_MAX;
}

/** Values decodeLink returns must be what the wire types allow, never NaN or garbage. */
function assertSaneLink(link: LinkMessage): void {
  assert.ok(link.kind === 'new' || link.kind === 'del');
  assert.ok(Number.isInteger(link.ifindex) && link.ifindex >= -0x80000000 && link.ifindex <= 0x7fffffff);
  assert.ok(isU32(link.flags) && isU32(link.change));
  assert.ok(Number.isInteger(link.linkType) && link.linkType >= 0 && link.linkType <= 0xffff);
  for (const v of [link.operstate, link.carrier]) {
    assert.ok(v === undefined || (Number.isInteger(v) && v >= 0 && v <= 0xff));
  }
  for (const v of [link.carrierChanges, link.carrierUpCount, link.carrierDownCount, link.mtu, link.master]) {
    assert.ok(v === undefined || isU32(v));
  }
  for (const v of [link.ifname, link.ifalias, link.infoKind]) {
    assert.ok(v === undefined || (typeof v === 'string' && !v.includes('\0')));
  }
  assert.ok(link.address === undefined || /^(?:[0-9a-f]{2}(?::[0-9a-f]{2})*)?$/.test(link.address));
}

/**
 * Decode a datagram the way the monitor will. Returns normally when everything decoded;
 * rethrows anything that is not a well-formed NetlinkDecodeError as an assertion failure.
 */
function decodeOrDecodeError(bytes: Buffer): void {
  try {
    const messages = decodeMessages(bytes);
    let end = 0;
    for (const msg of messages) {
      assert.ok(msg.offset >= end && msg.offset % 4 === 0, 'messages in order, aligned');
      end = msg.offset + 16 + msg.payload.length;
      assert.ok(end <= bytes.length, 'message inside the datagram');
      if (msg.type === RTM_NEWLINK || msg.type === RTM_DELLINK) assertSaneLink(decodeLink(msg));
      else if (msg.type === NLMSG_ERROR) assert.ok(Number.isInteger(decodeErrorMessage(msg).error));
    }
  } catch (e) {
    if (!(e instanceof NetlinkDecodeError)) throw e;
    assert.ok(NETLINK_DECODE_REASONS.includes(e.reason), `unknown reason ${e.reason}`);
    assert.ok(Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset}`);
  }
}

describe('decoder properties', () => {
  it('random bytes decode or raise NetlinkDecodeError', () => {
    fc.assert(fc.property(randomBytesArb, decodeOrDecodeError), { numRuns: fuzzRuns(3000) });
  });

  it('mutated valid datagrams decode or raise NetlinkDecodeError', () => {
    fc.assert(fc.property(mutatedDatagramArb, decodeOrDecodeError), { numRuns: fuzzRuns(5000) });
  });

  it('attribute soup under a valid header decodes or raises NetlinkDecodeError', () => {
    fc.assert(fc.property(attributeSoupArb, decodeOrDecodeError), { numRuns: fuzzRuns(5000) });
  });

  it('built link messages decode back to the values they were built from', () => {
    fc.assert(
      fc.property(linkCaseArb, ({ link, bytes }) => {
        const messages = decodeMessages(bytes);
        assert.equal(messages.length, 1);
        assert.deepEqual(decodeLink(messages[0]!), link);
      }),
      { numRuns: fuzzRuns(3000) },
    );
  });

  it('a datagram of several messages decodes to all of its links, in order', () => {
    fc.assert(
      fc.property(datagramArb, ({ links, bytes, boundaries }) => {
        const messages = decodeMessages(bytes);
        assert.deepEqual(
          messages.map((m) => m.offset),
          boundaries.slice(0, -1),
        );
        const decoded = messages
          .filter((m) => m.type === RTM_NEWLINK || m.type === RTM_DELLINK)
          .map((m) => decodeLink(m));
        assert.deepEqual(decoded, links);
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });

  it('a datagram cut at a message boundary decodes its prefix; cut anywhere else, it is refused', () => {
    fc.assert(
      fc.property(datagramArb, fc.nat(), ({ bytes, boundaries }, n) => {
        const cut = n % (bytes.length + 1);
        const before = boundaries.filter((b) => b < cut).length;
        if (boundaries.includes(cut)) {
          assert.equal(decodeMessages(bytes.subarray(0, cut)).length, before);
        } else {
          assert.throws(
            () => decodeMessages(bytes.subarray(0, cut)),
            (e: unknown) =>
              e instanceof NetlinkDecodeError &&
              (e.reason === 'truncated' || e.reason === 'short_header') &&
              e.offset === boundaries[before - 1],
          );
        }
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });
});
