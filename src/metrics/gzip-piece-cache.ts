// The compressed form of each cached piece of the exposition, kept for as long as the piece is.
//
// The link families hand out the same Buffer for a piece until its samples change (then a new
// one), so a piece's identity says whether it was compressed before: a scrape compresses only the
// pieces that are new since the previous gzip scrape. Entries are held weakly: when the renderer
// drops a piece, its compressed form goes with it. Pieces are never modified once handed out.

import { deflateSegment, type DeflatedSegment } from './deflate-segments.js';

export class GzipPieceCache {
  readonly #deflated = new WeakMap<Buffer, DeflatedSegment>();
  #compressions = 0;

  /** Pieces compressed so far (each new piece once). */
  get compressions(): number {
    return this.#compressions;
  }

  /** The piece compressed on its own (see deflate-segments.ts), computed on first use. */
  deflated(piece: Buffer): DeflatedSegment {
    let d = this.#deflated.get(piece);
    if (d === undefined) {
      d = deflateSegment(piece);
      this.#compressions++;
      this.#deflated.set(piece, d);
    }
    return d;
  }
}
