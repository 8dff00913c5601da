// One gzip member assembled from separately compressed pieces, so that a scrape compresses only
// what changed since the previous one.
//
// Each piece is compressed on its own as raw deflate ending in a sync flush (empty stored block,
// byte aligned, no final block): such pieces concatenate into one valid deflate stream, because
// none refers back into another (each started with an empty window). The member is the gzip
// header (RFC 1952), the pieces, an empty final block, and the trailer: the CRC-32 of the whole
// text, combined from the pieces' CRCs without reading the text again, and its length mod 2^32.
// Every gzip reader sees a single ordinary member.

import zlib from 'node:zlib';

// zlib.crc32 is Node >= 20.15 (package.json "engines"); say so at start rather than at a scrape.
if (typeof zlib.crc32 !== 'function') throw new Error(`linkstate-exporter needs Node.js >= 20.15 (zlib.crc32); this is ${process.version}`);

export interface DeflatedSegment {
  /** raw deflate blocks, the last one a sync flush; never a final block */
  readonly raw: Buffer;
  /** CRC-32 of the uncompressed bytes */
  readonly crc: number;
  /** uncompressed length in bytes */
  readonly length: number;
  /**
   * x^(8 * length) modulo the CRC polynomial: what a CRC is multiplied by to move it past this
   * segment (crc32Combine's costly half), computed once per segment rather than at every scrape.
   */
  readonly shift: number;
}

/**
 * Fastest level, a 4 KiB window and a small hash: a compressor state far smaller than the
 * default's per call (fewer, smaller mallocs per scrape), and on metrics text — which repeats
 * within a few lines — output no larger, and faster, than with the defaults (docs/design.md,
 * Measured trade-offs).
 */
const DEFLATE_OPTIONS: zlib.ZlibOptions = {
  level: zlib.constants.Z_BEST_SPEED,
  windowBits: 12,
  memLevel: 4,
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
};

/** gzip header: magic, CM=deflate, no flags, MTIME=0, XFL=4 (fastest), OS=3 (Unix). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3]);
/** A final fixed-Huffman block holding only end-of-block: ends the deflate stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

const EMPTY: DeflatedSegment = { raw: Buffer.alloc(0), crc: 0, length: 0, shift: 0x80000000 };

/** A copy of `bytes` in memory of its own, never a slice of Buffer's shared pool. */
export function exactCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/**
 * zlib's output buffer for a piece of `length` bytes: a quarter of it (metrics text compresses
 * better than that at level 1), from 1 KiB to zlib's default 16 KiB. Every deflateRawSync
 * allocates its own output buffer, freed only when the GC collects it: at 16 KiB each, a churn
 * that re-renders every chunk left megabytes of them a scrape to the GC, from malloc's heap
 * arena, which kept the pages (docs/design.md, Measured trade-offs). Under 4 KiB the
 * buffer is a slice of Buffer's shared pool; a piece that outgrows it gets more buffers, joined
 * (the result is copied anyway).
 */
export function outputChunkBytes(length: number): number {
  return Math.min(16 * 1024, Math.max(1024, length >>> 2));
}

export function deflateSegment(data: Buffer): DeflatedSegment {
  if (data.length === 0) return EMPTY;
  return {
    // A copy of exactly its size: zlib's result is a view into a 16 KiB output chunk, and a
    // cached piece of a few hundred bytes would keep all of it alive. Not Buffer.from: a copy
    // under 4 KiB comes from Buffer's shared 8 KiB pool, and one cached piece would keep its
    // whole slab (and the dead pieces beside it) alive until it is replaced.
    raw: exactCopy(zlib.deflateRawSync(data, { ...DEFLATE_OPTIONS, chunkSize: outputChunkBytes(data.length) })),
    crc: zlib.crc32(data),
    length: data.length,
    shift: x2nModP(data.length, 3),
  };
}

/**
 * The gzip member holding the segments' text in order, as buffers to send one after another.
 * The CRC of the whole is combined from the segments' (one multiplication by each one's shift):
 * a large table has hundreds of segments, and crc32Combine, which computes the shift from the
 * length at every call, made the combination a large share of a cached gzip scrape's CPU
 * (docs/design.md, Measured trade-offs).
 */
export function gzipSegments(segments: readonly DeflatedSegment[]): Buffer[] {
  const out: Buffer[] = [GZIP_HEADER];
  let crc = 0;
  let length = 0;
  for (const s of segments) {
    if (s.length === 0) continue;
    out.push(s.raw);
    crc = crc32CombineShifted(crc, s.crc, s.shift);
    length = (length + s.length) % 0x1_0000_0000;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(length >>> 0, 4);
  out.push(FINAL_BLOCK, trailer);
  return out;
}

// ---- CRC-32 combination (the gzip polynomial, reflected; the CRC itself is zlib.crc32) ---------

const POLY = 0xedb88320;

/** a(x) * b(x) modulo the CRC polynomial (bit-reflected, as zlib's multmodp). */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) modulo the polynomial. */
const X2N = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 32; k++) t[k] = p = multModP(p, p);
  return t;
})();

/** x^(n * 2^k) modulo the polynomial. */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31] as number, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC-32 of A followed by B, from crcA, crcB and B's length (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return crc32CombineShifted(crcA, crcB, x2nModP(lengthB, 3));
}

/** crc32Combine with B's shift, x^(8 * lengthB) mod P, already known (DeflatedSegment.shift). */
function crc32CombineShifted(crcA: number, crcB: number, shiftB: number): number {
  return (multModP(shiftB, crcA) ^ crcB) >>> 0;
}
