// The scrape client: plain node:http over one keep-alive connection, timed from the request to
// the last byte of the body. The same client scrapes every exporter.
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { monoMs } from './clock.js';

/** A plain scrape: what curl or a browser sends. */
export const PLAIN_HEADERS: Readonly<Record<string, string>> = { Accept: '*/*' };

/** What Prometheus 2.x sends with every scrape (OpenMetrics preferred, gzip). */
export const PROMETHEUS_HEADERS: Readonly<Record<string, string>> = {
  Accept:
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
    'text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  'Accept-Encoding': 'gzip',
  'User-Agent': 'Prometheus/2.42.0',
  'X-Prometheus-Scrape-Timeout-Seconds': '120',
};

export interface ScrapeResult {
  readonly status: number;
  /** monotonic ms when the request was sent / the body's last byte arrived */
  readonly startMs: number;
  readonly endMs: number;
  readonly ms: number;
  /** body bytes on the wire (compressed when the server compressed) */
  readonly bytes: number;
  readonly contentType: string;
  readonly contentEncoding: string;
  /** the body as received, when asked for */
  readonly body?: Buffer;
  /** whether the (uncompressed) body contains the bytes looked for, when asked */
  readonly found?: boolean;
}

export class ScrapeClient {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly #base: URL;

  constructor(base: string) {
    this.#base = new URL(base);
  }

  /** GET path; keeps the body if asked, or looks for `find` in it as it streams in (plain bodies only). */
  get(path: string, headers: Readonly<Record<string, string>> = PLAIN_HEADERS, keepBody = false, timeoutMs = 180_000, find?: Buffer): Promise<ScrapeResult> {
    return new Promise((resolve, reject) => {
      const startMs = monoMs();
      const req = http.request(
        { host: this.#base.hostname, port: this.#base.port, path, method: 'GET', headers, agent: this.#agent, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          let found = false;
          let tail: Buffer = Buffer.alloc(0);
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (keepBody) chunks.push(chunk);
            if (find !== undefined && !found) {
              // Search this chunk plus the end of the previous one, for a needle split between them.
              const window = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
              found = window.indexOf(find) >= 0;
              tail = window.subarray(Math.max(0, window.length - find.length + 1));
            }
          });
          res.on('end', () => {
            const endMs = monoMs();
            const result: ScrapeResult = {
              status: res.statusCode ?? 0,
              startMs,
              endMs,
              ms: endMs - startMs,
              bytes,
              contentType: String(res.headers['content-type'] ?? ''),
              contentEncoding: String(res.headers['content-encoding'] ?? ''),
              ...(keepBody ? { body: Buffer.concat(chunks, bytes) } : {}),
              ...(find !== undefined ? { found } : {}),
            };
            resolve(result);
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Closes the keep-alive connection (before an idle measurement). */
  close(): void {
    this.#agent.destroy();
  }
}

/** The body as text, gunzipped when it came compressed. */
export function bodyText(result: ScrapeResult): string {
  if (result.body === undefined) throw new Error('scrape kept no body');
  return (result.contentEncoding === 'gzip' ? gunzipSync(result.body) : result.body).toString('utf8');
}

/** Polls GET path until it answers 200 (or the deadline passes, or `child` exits). Returns monotonic ms of the 200. */
export async function waitFor200(base: string, path: string, timeoutMs: number, intervalMs = 5, child?: ChildProcess): Promise<number> {
  const deadline = monoMs() + timeoutMs;
  for (;;) {
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`${base}: the process exited (${child.exitCode ?? child.signalCode}) before ${path} answered 200`);
    const status = await new Promise<number>((resolve) => {
      const req = http.get(new URL(path, base), { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200) return monoMs();
    if (monoMs() > deadline) throw new Error(`${base}${path} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
