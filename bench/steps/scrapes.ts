// Scrape time: back-to-back GETs of /metrics on one keep-alive connection, after one untimed
// warm-up scrape. Stops after `count` scrapes, or earlier once `budgetMs` is spent (but never
// before `minCount`): node_exporter takes seconds per scrape at thousands of interfaces.
import { ScrapeClient, bodyText } from '../lib/http.js';
import { summarize, median, type Summary } from '../lib/stats.js';
import { monoMs } from '../lib/clock.js';

export interface ScrapeSeries extends Summary {
  /** median body size on the wire, bytes */
  readonly bytes: number;
  /** uncompressed size of one body, bytes */
  readonly textBytes: number;
  readonly contentType: string;
  readonly contentEncoding: string;
  /** every timing, ms, in order */
  readonly samples: readonly number[];
}

export interface ScrapeOptions {
  readonly count: number;
  readonly minCount: number;
  readonly budgetMs: number;
  /** checks the decoded body of the warm-up scrape (throws if wrong) */
  readonly check?: (text: string) => void;
}

export async function measureScrapes(client: ScrapeClient, path: string, headers: Readonly<Record<string, string>>, opts: ScrapeOptions): Promise<ScrapeSeries> {
  const warm = await client.get(path, headers, true);
  if (warm.status !== 200) throw new Error(`warm-up scrape answered ${warm.status}`);
  const text = bodyText(warm);
  opts.check?.(text);
  const samples: number[] = [];
  const sizes: number[] = [];
  const t0 = monoMs();
  while (samples.length < opts.count && (samples.length < opts.minCount || monoMs() - t0 < opts.budgetMs)) {
    const r = await client.get(path, headers);
    if (r.status !== 200) throw new Error(`scrape answered ${r.status}`);
    samples.push(r.ms);
    sizes.push(r.bytes);
  }
  return {
    ...summarize(samples),
    bytes: median(sizes),
    textBytes: Buffer.byteLength(text),
    contentType: warm.contentType,
    contentEncoding: warm.contentEncoding,
    samples,
  };
}
