// The routes: telemetry path, status page ("/"), its script, /api/v1/links, the event stream
// /api/v1/events, health and readiness. Never listens (server.ts does: listen, TLS, web config
// reloads). The telemetry path, /-/healthy and /-/ready are answered here with node:http alone;
// every other request goes to express(), loaded on the first such request: scrapes and probes
// never load it (docs/design.md, "What the public entry points cost").

import type { IncomingMessage, ServerResponse } from 'node:http';
import { http } from '../runtime/builtins.js';
import { createRequire } from 'node:module';
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { PROGRAM_NAME } from '../cli/config.js';
import type { LinkEventLog } from '../links/event-log.js';
import type { Logger } from '../runtime/logger.js';
import type { Exposition } from '../metrics/exposition.js';
import type { EventStreams } from './event-stream.js';
import { acceptsGzip, negotiateOpenMetrics } from './negotiate.js';
import { exemptFromResponseTimeout } from './slow-client-guard.js';
import type { StatusSource } from './status-page.js';

export type { Exposition } from '../metrics/exposition.js';
export type { StatusSource } from './status-page.js';

export interface MetricsSource {
  /** Never rejects. */
  expose(req: { openMetrics: boolean; gzip: boolean }): Promise<Exposition>;
}

export interface AppOptions {
  source: MetricsSource;
  telemetryPath: string;
  isReady(): boolean;
  version: string;
  logger: Logger;
  /**
   * Parallel scrapes of the telemetry path allowed at once, and apart from them parallel
   * requests of the status page, its script and /api/v1/links; 0 or undefined = no limit.
   */
  maxRequests?: number;
  /** The links shown on the status page and in /api/v1/links; none when absent. */
  status?: StatusSource;
  /** The link event log behind /api/v1/events; the endpoint is 404 when absent. */
  events?: LinkEventLog;
  /** --web.events.max-clients (default 16) and the keep-alive interval (tests shorten it). */
  eventStreams?: { maxClients?: number; keepAliveMs?: number; slowReaderBytes?: number };
  /** Wall clock for the page's "ago" times and down seconds. */
  now?: () => number;
}

/** The request listener and the event streams it serves (closed with the server). */
export type App = ((req: IncomingMessage, res: ServerResponse) => void) & { readonly eventStreams?: EventStreams };

/** express(), from its index, loaded by the first request that needs it. */
function newExpressApp(): express.Application {
  const load = createRequire(import.meta.url)('express') as typeof express;
  return load();
}

export const NOT_READY_TEXT = 'Not ready: initial link dump not applied yet';

const ALLOWED_METHODS = 'GET, HEAD';

function sendText(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/** A complete body with its length; every HTML page and script gets the page's policy. */
function sendBody(res: Response, contentType: string, text: string, head: boolean, csp: string): void {
  const body = Buffer.from(text, 'utf8');
  res.status(200);
  res.setHeader('Content-Type', contentType);
  // A Content-Security-Policy from the web config (set before the app runs) wins.
  if (!res.hasHeader('Content-Security-Policy')) res.setHeader('Content-Security-Policy', csp);
  res.setHeader('Content-Length', body.length);
  if (head) res.end();
  else res.end(body);
}

/**
 * A body that grows with the number of links (megabytes at ten thousand; docs/design.md),
 * written in the pieces `chunks` renders one at a time, yielding to the event loop between them
 * (netlink messages and scrapes go on meanwhile) and waiting for the client to drain.
 */
async function sendChunks(res: Response, contentType: string, chunks: Iterable<string>, head: boolean, csp: string): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', contentType);
  if (!res.hasHeader('Content-Security-Policy')) res.setHeader('Content-Security-Policy', csp);
  if (head) {
    res.end();
    return;
  }
  let first = true;
  for (const chunk of chunks) {
    if (!first) await new Promise((resolve) => setImmediate(resolve));
    first = false;
    if (res.destroyed) return;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

function onlyGetHead(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.setHeader('Allow', ALLOWED_METHODS);
  sendText(res, 405, 'Method Not Allowed');
  return false;
}

/**
 * The path of a request target for the routes answered without express: the part before '?',
 * when the target is origin-form ("/...") and holds nothing parseurl would read differently
 * ('#', whitespace). Anything else (undefined) goes to the express app.
 */
function plainPath(url: string | undefined): string | undefined {
  if (url === undefined || url.charCodeAt(0) !== 0x2f) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return /[#\s\u00a0\ufeff]/.test(path) ? undefined : path;
}

/**
 * The request listener. The telemetry path, /-/healthy and /-/ready (what Prometheus and
 * probes ask, every few seconds) are answered here with node:http alone, exactly as the express
 * routes below answer them. express(), with every route, is loaded on the first other request
 * (the status page, the API, a 404, a spelling only express matches such as "/-/healthy/"), so
 * an exporter that only serves scrapes never holds it (docs/design.md, "What the public entry
 * points cost").
 */
export function createApp(opts: AppOptions): App {
  const now = opts.now ?? Date.now;
  const info = { name: PROGRAM_NAME, version: opts.version, telemetryPath: opts.telemetryPath };
  const status: StatusSource = opts.status ?? { links: () => [] };
  // The page, the API and the streams are loaded on their first request: an exporter nobody
  // looks at holds none of their code (status-page.ts, status-script.ts, event-stream.ts).
  let page: Promise<typeof import('./status-page.js')> | undefined;
  const pageModule = (): Promise<typeof import('./status-page.js')> => (page ??= import('./status-page.js'));
  let streams: EventStreams | undefined;
  let streamsLoading: Promise<EventStreams> | undefined;
  const eventStreams = (log: LinkEventLog): Promise<EventStreams> =>
    (streamsLoading ??= import('./event-stream.js').then((m) => {
      streams = new m.EventStreams({
        log,
        ...(opts.eventStreams?.maxClients === undefined ? {} : { maxClients: opts.eventStreams.maxClients }),
        ...(opts.eventStreams?.keepAliveMs === undefined ? {} : { keepAliveMs: opts.eventStreams.keepAliveMs }),
        ...(opts.eventStreams?.slowReaderBytes === undefined ? {} : { slowReaderBytes: opts.eventStreams.slowReaderBytes }),
      });
      return streams;
    }));
  const maxRequests = opts.maxRequests ?? 0;
  let inFlight = 0;
  // The page, its script and the API: slots of their own, so that page readers who never read
  // can not take the scrapes' slots. Held until the response is done or its connection gone.
  let pagesInFlight = 0;
  const pageSlot = (res: ServerResponse): boolean => {
    if (maxRequests > 0 && pagesInFlight >= maxRequests) {
      res.setHeader('Retry-After', '1');
      sendText(res, 503, 'Too many requests');
      return false;
    }
    pagesInFlight += 1;
    res.once('close', () => (pagesInFlight -= 1));
    return true;
  };

  /** The telemetry path, once the method is known to be GET or HEAD. Rejects only on a bug. */
  const serveTelemetry = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (maxRequests > 0 && inFlight >= maxRequests) {
      sendText(res, 503, 'Too many requests');
      return;
    }
    inFlight += 1;
    try {
      const exposition = await opts.source.expose({
        openMetrics: negotiateOpenMetrics(req.headers.accept),
        gzip: acceptsGzip(req.headers['accept-encoding']),
      });
      res.statusCode = 200;
      res.setHeader('Content-Type', exposition.contentType);
      if (exposition.contentEncoding === 'gzip') res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Vary', 'Accept-Encoding, Accept');
      const pieces = exposition.body;
      let length = 0;
      for (const piece of pieces) length += piece.length;
      res.setHeader('Content-Length', length);
      if (req.method !== 'HEAD') {
        res.cork(); // one writev for all pieces; end() uncorks
        for (const piece of pieces) res.write(piece);
      }
      res.end();
    } finally {
      inFlight -= 1;
    }
  };

  const serveHealthy = (res: ServerResponse): void => sendText(res, 200, 'OK');
  const serveReady = (res: ServerResponse): void => {
    if (opts.isReady()) sendText(res, 200, 'OK');
    else sendText(res, 503, NOT_READY_TEXT);
  };

  // Never a stack trace or an internal message in a response.
  const fail = (err: unknown, req: IncomingMessage, res: ServerResponse, path: string | undefined): void => {
    const status = clientErrorStatus(err);
    if (status === undefined) opts.logger.error({ err, method: req.method, path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const code = status ?? 500;
    sendText(res, code, http.STATUS_CODES[code] ?? 'Error');
  };

  let full: express.Application | undefined;
  const expressApp = (): express.Application => {
    if (full !== undefined) return full;
    const app = newExpressApp();
    app.disable('x-powered-by');
    app.disable('etag');

    app.use((req: Request, res: Response, next: NextFunction) => {
      if (req.path !== opts.telemetryPath) {
        next();
        return;
      }
      if (!onlyGetHead(req, res)) return;
      serveTelemetry(req, res).catch(next);
    });

    app.all('/', (req: Request, res: Response, next: NextFunction) => {
      if (!onlyGetHead(req, res) || !pageSlot(res)) return;
      pageModule().then(
        (m) => sendChunks(res, 'text/html; charset=utf-8', m.statusPageChunks(info, status, now()), req.method === 'HEAD', m.STATUS_PAGE_CSP),
        next,
      ).catch(next);
    });

    let script: Promise<string> | undefined;
    app.all('/static/status.js', (req: Request, res: Response, next: NextFunction) => {
      if (!onlyGetHead(req, res) || !pageSlot(res)) return;
      // Loaded on the first request only: an exporter nobody looks at never holds it.
      script ??= import('./status-script.js').then((m) => m.STATUS_SCRIPT);
      Promise.all([script, pageModule()])
        .then(([text, m]) => {
          res.setHeader('Cache-Control', 'no-cache');
          sendBody(res, 'text/javascript; charset=utf-8', text, req.method === 'HEAD', m.STATUS_PAGE_CSP);
        })
        .catch(next);
    });

    app.all('/api/v1/links', (req: Request, res: Response, next: NextFunction) => {
      if (!onlyGetHead(req, res) || !pageSlot(res)) return;
      pageModule().then((m) => {
        res.setHeader('Cache-Control', 'no-store');
        return sendChunks(res, 'application/json; charset=utf-8', m.linksJsonChunks(status, now()), req.method === 'HEAD', m.STATUS_PAGE_CSP);
      }, next).catch(next);
    });

    const log = opts.events;
    if (log !== undefined) {
      app.all('/api/v1/events', (req: Request, res: Response, next: NextFunction) => {
        if (!onlyGetHead(req, res)) return;
        // A stream never ends: its slow readers are dropped by size (event-stream.ts) instead.
        exemptFromResponseTimeout(res);
        eventStreams(log)
          .then((s) => s.handle(req, res))
          .catch(next);
      });
    }

    app.all('/-/healthy', (req: Request, res: Response) => {
      if (onlyGetHead(req, res)) serveHealthy(res);
    });

    app.all('/-/ready', (req: Request, res: Response) => {
      if (onlyGetHead(req, res)) serveReady(res);
    });

    app.use((_req: Request, res: Response) => {
      sendText(res, 404, 'Not Found');
    });

    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => fail(err, req, res, req.path));
    full = app;
    return app;
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const path = plainPath(req.url);
    // A throw here would escape the server's 'request' listener (express's router caught it):
    // answered as express would, a 500 without internals, logged.
    try {
      if (path === opts.telemetryPath) {
        if (onlyGetHead(req, res)) serveTelemetry(req, res).catch((err: unknown) => fail(err, req, res, path));
      } else if (path === '/-/healthy') {
        if (onlyGetHead(req, res)) serveHealthy(res);
      } else if (path === '/-/ready') {
        if (onlyGetHead(req, res)) serveReady(res);
      } else {
        expressApp()(req, res);
      }
    } catch (err) {
      fail(err, req, res, path);
    }
  };
  Object.defineProperty(listener, 'eventStreams', { get: () => streams });
  return listener as App;
}

/** 4xx status of errors raised by express/http-errors for bad requests (e.g. a malformed URL). */
function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}


