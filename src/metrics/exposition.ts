// The /metrics body: the per-link families (rendered from the table, cached) followed by the
// exporter's prom-client registry, in the format the scraper asked for, gzipped when asked.
//
// The link families come as cached pieces (see link-families.ts); a scrape hands them to the
// server as they are (no copy of a body of megabytes at 10,000 links) and renders only
// prom-client's part. For gzip, each cached piece is also kept compressed (gzip-piece-cache.ts),
// so a scrape compresses only prom-client's few kilobytes and the pieces that changed, and joins
// the rest into one gzip member (deflate-segments.ts).

import type { ExporterMetrics } from './exporter-metrics.js';
import type { LinkFamiliesRenderer } from './link-families.js';
import { deflateSegment, gzipSegments } from './deflate-segments.js';
import { GzipPieceCache } from './gzip-piece-cache.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export interface Exposition {
  readonly contentType: string;
  /** The body's pieces in order (cached ones are shared between scrapes: never modify them). */
  readonly body: readonly Buffer[];
  readonly contentEncoding?: 'gzip';
}

/** Families kept as bytes between changes, like the link families (same contract for pieces). */
export interface CachedFamilies {
  pieces(format: 'prometheus' | 'openmetrics'): Buffer[];
}

export interface ExposeRequest {
  readonly openMetrics: boolean;
  readonly gzip: boolean;
}

export class MetricsExposition {
  readonly #links: LinkFamiliesRenderer;
  readonly #exporter: ExporterMetrics;
  readonly #now: () => number;
  readonly #gzipPieces: GzipPieceCache;
  readonly #extras: readonly CachedFamilies[];

  /** `extras`: more cached families, sent after the link families (linkstate_netns_info). */
  constructor(
    links: LinkFamiliesRenderer,
    exporter: ExporterMetrics,
    now: () => number = Date.now,
    gzipPieces: GzipPieceCache = new GzipPieceCache(),
    extras: readonly CachedFamilies[] = [],
  ) {
    this.#links = links;
    this.#exporter = exporter;
    this.#now = now;
    this.#gzipPieces = gzipPieces;
    this.#extras = extras;
  }

  /** The /metrics body as the server sends it. Never rejects: a failing collector is reported in its place. */
  async expose(req: ExposeRequest): Promise<Exposition> {
    const format = req.openMetrics ? 'openmetrics' : 'prometheus';
    const pieces = this.#links.pieces(format, this.#now());
    for (const extra of this.#extras) pieces.push(...extra.pieces(format));
    const rest = Buffer.from(req.openMetrics ? await this.#exporter.renderOpenMetrics() : await this.#exporter.renderPrometheus(), 'utf8');
    const contentType = req.openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
    if (!req.gzip) {
      pieces.push(rest); // a fresh array at every call
      return { contentType, body: pieces };
    }
    const deflated = pieces.map((piece) => this.#gzipPieces.deflated(piece));
    deflated.push(deflateSegment(rest));
    return { contentType, body: gzipSegments(deflated), contentEncoding: 'gzip' };
  }
}
