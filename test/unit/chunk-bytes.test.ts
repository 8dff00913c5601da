// How the renderer allocates a chunk's bytes: one buffer per chunk, its pieces views
// into it, so that a full chunk is one allocation above glibc's mmap threshold (returned to the
// system when freed) instead of one heap-arena block per family.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkTable } from '../../src/links/table.js';
import { LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { IFF_LOWER_UP, IFF_UP } from '../../src/rtnetlink/constants.js';
import { fullLink } from '../helpers/netlink-bytes.js';

/** glibc's M_MMAP_THRESHOLD as configureAllocator sets it (src/netlink/libc.ts). */
const MMAP_THRESHOLD = 128 * 1024;

function tableOf(count: number): LinkTable {
  const table = new LinkTable();
  for (let i = 0; i < count; i++) {
    const ifindex = i + 2;
    table.apply(
      fullLink({
        ifindex,
        ifname: `s0x${i >> 1}${i & 1 ? 'p' : ''}`,
        flags: IFF_UP | IFF_LOWER_UP,
        carrier: 1,
        operstate: 6,
        carrierChanges: 1,
        carrierUpCount: 1,
        carrierDownCount: 0,
        mtu: 1500,
        address: '02:00:00:00:00:01',
        infoKind: 'veth',
      }),
      1_000,
    );
  }
  return table;
}

/** The pieces that are samples (not family headers), grouped by the memory they live in. */
function byBacking(pieces: readonly Buffer[], headers: ReadonlySet<Buffer>): Map<ArrayBufferLike, Buffer[]> {
  const groups = new Map<ArrayBufferLike, Buffer[]>();
  for (const piece of pieces) {
    if (headers.has(piece)) continue;
    const group = groups.get(piece.buffer) ?? [];
    group.push(piece);
    groups.set(piece.buffer, group);
  }
  return groups;
}

describe('chunk bytes', () => {
  it('a chunk of 256 links is one buffer above the mmap threshold, its families views into it', () => {
    const renderer = new LinkFamiliesRenderer(tableOf(256));
    const pieces = renderer.pieces('prometheus', 2_000);
    // the family headers are the pieces starting with "# HELP"
    const headerSet = new Set(pieces.filter((p) => p.subarray(0, 6).toString('latin1') === '# HELP'));
    const groups = byBacking(pieces, headerSet);
    assert.equal(groups.size, 1, `the samples of one chunk in ${groups.size} buffers`);
    const [backing, views] = [...groups][0] as [ArrayBufferLike, Buffer[]];
    const total = views.reduce((a, v) => a + v.length, 0);
    assert.equal(backing.byteLength, total, 'the buffer holds exactly the samples');
    assert.ok(total >= MMAP_THRESHOLD, `a full chunk is ${total} bytes, under glibc's mmap threshold`);
    assert.ok(views.length >= 8, `${views.length} views: one per family with samples expected (up, carrier, oper state, three counters, mtu, info)`);
  });

  it('a re-rendered chunk gets new bytes; pieces handed out before are left as they were', () => {
    const table = tableOf(300);
    const renderer = new LinkFamiliesRenderer(table);
    const before = renderer.pieces('prometheus', 2_000).map((p) => [p, Buffer.from(p)] as const);
    table.apply(fullLink({ ifindex: 2, ifname: 's0x0', flags: IFF_UP, carrier: 0, operstate: 2, carrierChanges: 2, carrierUpCount: 1, carrierDownCount: 1, mtu: 1500, address: '02:00:00:00:00:01', infoKind: 'veth' }), 3_000);
    const after = renderer.pieces('prometheus', 4_000);
    for (const [piece, copy] of before) assert.ok(piece.equals(copy), 'a piece handed out was modified');
    const text = Buffer.concat(after).toString('utf8');
    assert.match(text, /^linkstate_carrier\{device="s0x0"\} 0$/m);
    // the second chunk (links 256..299) did not change: same pieces as before
    const kept = after.filter((p) => before.some(([b]) => b === p));
    assert.ok(kept.length > 0, 'the unchanged chunk was re-rendered');
    assert.ok(after.some((p) => !before.some(([b]) => b === p)), 'the changed chunk kept its old pieces');
  });
});
