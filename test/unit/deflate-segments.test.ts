// gzip assembled from separately compressed pieces (src/metrics/deflate-segments.ts) and the
// cached /metrics body built on it (src/metrics/exposition.ts): one ordinary gzip member whose
// text is exactly the plain body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { ByteScratch } from '../../src/metrics/byte-scratch.js';
import { crc32Combine, deflateSegment, gzipSegments } from '../../src/metrics/deflate-segments.js';
import { ExporterMetrics } from '../../src/metrics/exporter-metrics.js';
import { MetricsExposition } from '../../src/metrics/exposition.js';
import { GzipPieceCache } from '../../src/metrics/gzip-piece-cache.js';
import { LinkFamiliesRenderer } from '../../src/metrics/link-families.js';
import { LinkTable } from '../../src/links/table.js';
import { IFF_UP } from '../../src/rtnetlink/constants.js';
import { vethLink } from '../helpers/netlink-bytes.js';

/** Checks that body is a single gzip member (header, one deflate stream, trailer) holding text. */
function assertSingleMember(body: Buffer, text: Buffer): void {
  assert.deepEqual([...body.subarray(0, 4)], [0x1f, 0x8b, 8, 0], 'gzip header, no optional fields');
  // One deflate stream from byte 10 to the trailer: inflateRaw stops at the first final block, so
  // anything after it (a second member) would make the lengths disagree.
  assert.deepEqual(zlib.inflateRawSync(body.subarray(10, body.length - 8)), text);
  assert.equal(body.readUInt32LE(body.length - 8), zlib.crc32(text) >>> 0, 'CRC-32 in the trailer');
  assert.equal(body.readUInt32LE(body.length - 4), text.length % 2 ** 32, 'ISIZE in the trailer');
  assert.deepEqual(zlib.gunzipSync(body), text);
}

describe('deflate segments', () => {
  it('crc32Combine gives the CRC of the concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 70_000 }), (a, b) => {
        const A = Buffer.from(a);
        const B = Buffer.from(b);
        assert.equal(crc32Combine(zlib.crc32(A), zlib.crc32(B), B.length), zlib.crc32(Buffer.concat([A, B])));
      }),
      { numRuns: 200 },
    );
  });

  it('joins pieces, empty ones included, into one gzip member of their concatenation', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 40_000 }), fc.string({ maxLength: 5000 }).map((s) => Buffer.from(s.repeat(3)))), { maxLength: 8 }),
        (pieces) => {
          const buffers = pieces.map((p) => Buffer.from(p));
          const body = Buffer.concat(gzipSegments(buffers.map(deflateSegment)));
          assertSingleMember(body, Buffer.concat(buffers));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an empty list is a valid empty member', () => {
    assertSingleMember(Buffer.concat(gzipSegments([])), Buffer.alloc(0));
  });

  it('the piece cache compresses a piece once, and a new piece (even of equal bytes) anew', () => {
    const cache = new GzipPieceCache();
    const a = Buffer.from('linkstate_up{device="eth0"} 1\n');
    const first = cache.deflated(a);
    assert.equal(cache.deflated(a), first);
    assert.equal(cache.compressions, 1);
    const b = Buffer.from(a);
    assert.notEqual(cache.deflated(b), first);
    assert.equal(cache.compressions, 2);
    assert.deepEqual(zlib.gunzipSync(Buffer.concat(gzipSegments([first]))), a);
  });
});

const link = vethLink;

/** The link families of a body: prom-client's part changes from one scrape to the next. */
function linkPart(text: string): string {
  return text.slice(0, text.indexOf('# HELP linkstate_exporter_'));
}

describe('cached /metrics body', () => {
  it('gzip and plain bodies hold the same text, before and after changes, with links down', async () => {
    let now = 1_790_000_000_000;
    const table = new LinkTable();
    for (let i = 1; i <= 1000; i++) table.apply(link(i), now);
    const renderer = new LinkFamiliesRenderer(table);
    const metrics = new ExporterMetrics({ version: '0', revision: 'test' }, () => renderer.exportedCount);
    const exposition = new MetricsExposition(renderer, metrics, () => now);
    const check = async (openMetrics: boolean): Promise<string> => {
      const plain = await exposition.expose({ openMetrics, gzip: false });
      const gzip = await exposition.expose({ openMetrics, gzip: true });
      assert.equal(plain.contentEncoding, undefined);
      assert.equal(gzip.contentEncoding, 'gzip');
      const text = Buffer.concat(plain.body).toString('utf8');
      const gzipBody = Buffer.concat(gzip.body);
      const unzipped = zlib.gunzipSync(gzipBody).toString('utf8');
      assert.equal(linkPart(unzipped), linkPart(text));
      assert.equal(linkPart(text), Buffer.concat(renderer.pieces(openMetrics ? 'openmetrics' : 'prometheus', now)).toString('utf8'));
      assert.ok(unzipped.includes('# HELP linkstate_exporter_links'));
      assertSingleMember(gzipBody, zlib.gunzipSync(gzipBody));
      return text;
    };
    const before = await check(false);
    await check(true);
    assert.equal(before.split('\n').filter((l) => l.startsWith('linkstate_up{')).length, 1000);

    // One link loses carrier (its down clock runs), one changes MTU, one is renamed.
    now += 1000;
    table.apply(link(500, { carrier: 0, flags: IFF_UP, operstate: 2, carrierChanges: 3, carrierDownCount: 2 }), now);
    table.apply(link(7, { mtu: 9000 }), now);
    table.apply(link(999, { ifname: 'uplink' }), now);
    now += 2500;
    const after = await check(false);
    assert.match(after, /^linkstate_carrier_down_seconds_total\{device="veth500"\} 2\.5$/m);
    assert.match(after, /^linkstate_mtu_bytes\{device="veth7"\} 9000$/m);
    assert.match(after, /^linkstate_up\{device="uplink"\} 1$/m);
    assert.doesNotMatch(after, /device="veth999"/);
    now += 1000;
    assert.match(await check(true), /^linkstate_carrier_down_seconds_total\{device="veth500"\} 3\.5$/m);
  });

  it('a gzip scrape compresses only the pieces that are new since the previous one', async () => {
    let now = 1_790_000_000_000;
    const table = new LinkTable();
    for (let i = 1; i <= 1000; i++) table.apply(link(i), now);
    const renderer = new LinkFamiliesRenderer(table);
    const metrics = new ExporterMetrics({ version: '0', revision: 'test' }, () => renderer.exportedCount);
    const cache = new GzipPieceCache();
    const exposition = new MetricsExposition(renderer, metrics, () => now, cache);
    const scrape = async (): Promise<number> => {
      const before = cache.compressions;
      const e = await exposition.expose({ openMetrics: true, gzip: true });
      zlib.gunzipSync(Buffer.concat(e.body));
      return cache.compressions - before;
    };
    const pieces = renderer.pieces('openmetrics', now).length;
    assert.ok(pieces > 20, `pieces: ${pieces}`);
    assert.equal(await scrape(), pieces, 'first scrape: every piece');
    assert.equal(await scrape(), 0, 'nothing changed: nothing compressed');
    table.apply(link(7, { mtu: 9000 }), now);
    const changed = renderer.pieces('openmetrics', now).filter((p) => p.includes('device="veth7"')).length;
    assert.equal(await scrape(), changed, 'one link changed: the pieces of its chunk');
    table.apply(link(500, { carrier: 0, flags: IFF_UP, operstate: 2, carrierChanges: 3, carrierDownCount: 2 }), now);
    await scrape();
    now += 1000;
    assert.equal(await scrape(), 1, 'a link is down: only its chunk of the down-time clock');
  });
});

describe('cached pieces own their memory', () => {
  // A piece under 4 KiB copied with Buffer.from shares Buffer's 8 KiB pool slab: a cached piece
  // would keep the slab, and the dead pieces beside it, alive for as long as it is cached.
  it('a small compressed piece and a small rendered piece are not slices of a shared pool', () => {
    const text = Buffer.from('linkstate_up{device="lnk0"} 1\n'.repeat(20));
    const raw = deflateSegment(text).raw;
    assert.ok(raw.length > 0 && raw.length < 4096);
    assert.equal(raw.byteOffset, 0);
    assert.equal(raw.buffer.byteLength, raw.length, 'a buffer of exactly its size');
    const scratch = new ByteScratch();
    scratch.write('linkstate_up{device="lnk0"} 1\n');
    const piece = scratch.take();
    assert.equal(piece.toString(), 'linkstate_up{device="lnk0"} 1\n');
    assert.equal(piece.byteOffset, 0);
    assert.equal(piece.buffer.byteLength, piece.length, 'a buffer of exactly its size');
  });
});
