// The /metrics body: the per-link families (rendered from the table, cached) followed by the
// exporter's prom-client registry, in the format the scraper asked for, gzipped when asked.

import { promisify } from 'node:util';
import { gzip as gzipCallback, constants as zlibConstants } from 'node:zlib';
import type { ExporterMetrics } from './exporter-metrics.js';
import type { LinkFamiliesRenderer } from './link-families.js';

const gzip = promisify(gzipCallback);

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export interface Exposition {
  readonly contentType: string;
  readonly body: Buffer;
  readonly contentEncoding?: 'gzip';
}

export interface ExposeRequest {
  readonly openMetrics: boolean;
  readonly gzip: boolean;
}

export class MetricsExposition {
  readonly #links: LinkFamiliesRenderer;
  readonly #exporter: ExporterMetrics;
  readonly #now: () => number;

  constructor(links: LinkFamiliesRenderer, exporter: ExporterMetrics, now: () => number = Date.now) {
    this.#links = links;
    this.#exporter = exporter;
    this.#now = now;
  }

  /** Text of the whole exposition. Never rejects: a failing collector is reported in its place. */
  async render(openMetrics: boolean): Promise<string> {
    const linkText = this.#links.render(openMetrics ? 'openmetrics' : 'prometheus', this.#now());
    const rest = openMetrics ? await this.#exporter.renderOpenMetrics() : await this.#exporter.renderPrometheus();
    return linkText + rest;
  }

  async expose(req: ExposeRequest): Promise<Exposition> {
    const text = await this.render(req.openMetrics);
    const contentType = req.openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
    const raw = Buffer.from(text, 'utf8');
    if (!req.gzip) return { contentType, body: raw };
    const body = await gzip(raw, { level: zlibConstants.Z_BEST_SPEED });
    return { contentType, body, contentEncoding: 'gzip' };
  }
}
