// HTTP side: createApp builds the express app (telemetry path, landing page, health and
// readiness) and never listens; startServer listens and gives back a prompt close().
// Only what every configuration needs is imported here: --web.config.file (YAML, bcrypt,
// TLS, reloads) lives in web/web-config-server.ts, imported when the flag is given.

import { EventEmitter } from 'node:events';
import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { PROGRAM_NAME, type ListenAddress } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { defaultHeaders } from './web/default-headers.js';
import { renderLandingPage } from './web/landing-page.js';
import { listen } from './web/listener.js';
import { acceptsGzip, negotiateOpenMetrics } from './web/negotiate.js';
import { NODE_CHECK_INTERVAL_OFF, guardSlowClients } from './web/slow-client-guard.js';
import type { ReloadOutcome } from './web/web-config-reloader.js';

export { formatBoundAddress, listenErrorMessage } from './web/listener.js';
export type { ReloadOutcome } from './web/web-config-reloader.js';

export interface Exposition {
  contentType: string;
  /** The body, or its pieces in order: they are written as they are, never joined. */
  body: Buffer | readonly Buffer[];
  contentEncoding?: 'gzip';
}

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
  /** Parallel scrapes of the telemetry path allowed at once; 0 or undefined = no limit. */
  maxRequests?: number;
}

/**
 * express(), built from express's application, request and response modules as its index
 * builds it. The index itself also loads body-parser (raw-body, iconv-lite) and serve-static
 * for express.json()/urlencoded()/static(), which this exporter never uses: about 3 MB of RSS
 * at rest (BENCHMARKS.md). express 5 has no "exports" map, so these paths are public.
 */
function newExpressApp(): express.Application {
  const require = createRequire(import.meta.url);
  const application = require('express/lib/application.js') as object;
  const request = require('express/lib/request.js') as object;
  const response = require('express/lib/response.js') as object;
  const app = function (req: http.IncomingMessage, res: http.ServerResponse, next?: NextFunction): void {
    (app as unknown as { handle(...args: unknown[]): void }).handle(req, res, next);
  } as unknown as express.Application;
  // merge-descriptors(app, source, false), as express does.
  for (const source of [EventEmitter.prototype, application]) {
    for (const name of Object.getOwnPropertyNames(source)) {
      if (Object.hasOwn(app, name)) continue;
      Object.defineProperty(app, name, Object.getOwnPropertyDescriptor(source, name)!);
    }
  }
  const own = { app: { configurable: true, enumerable: true, writable: true, value: app } };
  Object.assign(app, { request: Object.create(request, own), response: Object.create(response, own) });
  (app as unknown as { init(): void }).init();
  return app;
}

export const NOT_READY_TEXT = 'Not ready: initial link dump not applied yet';

const ALLOWED_METHODS = 'GET, HEAD';

function sendText(res: Response, status: number, text: string): void {
  const body = Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'utf8');
  res.status(status);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

function onlyGetHead(req: Request, res: Response): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.setHeader('Allow', ALLOWED_METHODS);
  sendText(res, 405, 'Method Not Allowed');
  return false;
}

export function createApp(opts: AppOptions): express.Application {
  const app = newExpressApp();
  app.disable('x-powered-by');
  app.disable('etag');
  const landing = renderLandingPage({ name: PROGRAM_NAME, version: opts.version, telemetryPath: opts.telemetryPath });
  const maxRequests = opts.maxRequests ?? 0;
  let inFlight = 0;

  app.use(async (req: Request, res: Response, next: NextFunction) => {
    if (req.path !== opts.telemetryPath) {
      next();
      return;
    }
    if (!onlyGetHead(req, res)) return;
    if (maxRequests > 0 && inFlight >= maxRequests) {
      sendText(res, 503, 'Too many requests');
      return;
    }
    inFlight += 1;
    try {
      const exposition = await opts.source.expose({
        openMetrics: negotiateOpenMetrics(req.get('accept')),
        gzip: acceptsGzip(req.get('accept-encoding')),
      });
      res.status(200);
      res.setHeader('Content-Type', exposition.contentType);
      if (exposition.contentEncoding === 'gzip') res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Vary', 'Accept-Encoding, Accept');
      const pieces = Buffer.isBuffer(exposition.body) ? [exposition.body] : exposition.body;
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
  });

  app.all('/', (req: Request, res: Response) => {
    if (!onlyGetHead(req, res)) return;
    const body = Buffer.from(landing.html, 'utf8');
    res.status(200);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    // A Content-Security-Policy from the web config (set before the app runs) wins.
    if (!res.hasHeader('Content-Security-Policy')) res.setHeader('Content-Security-Policy', landing.contentSecurityPolicy);
    res.setHeader('Content-Length', body.length);
    res.end(body);
  });

  app.all('/-/healthy', (req: Request, res: Response) => {
    if (!onlyGetHead(req, res)) return;
    sendText(res, 200, 'OK');
  });

  app.all('/-/ready', (req: Request, res: Response) => {
    if (!onlyGetHead(req, res)) return;
    if (opts.isReady()) sendText(res, 200, 'OK');
    else sendText(res, 503, NOT_READY_TEXT);
  });

  app.use((_req: Request, res: Response) => {
    sendText(res, 404, 'Not Found');
  });

  // Never a stack trace or an internal message in a response.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = clientErrorStatus(err);
    if (status === undefined) opts.logger.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const code = status ?? 500;
    sendText(res, code, http.STATUS_CODES[code] ?? 'Error');
  });

  return app;
}

/** 4xx status of errors raised by express/http-errors for bad requests (e.g. a malformed URL). */
function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}


export interface ServerTimeouts {
  /** Time allowed to receive a request's headers: a slow client is answered 408 and cut off. */
  headersTimeoutMs: number;
  /** Time allowed to receive a whole request. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open after a response. */
  keepAliveTimeoutMs: number;
  /** Time allowed for a TLS handshake. */
  handshakeTimeoutMs: number;
  /**
   * How often Node's own scan checks the header and request timeouts. Off by default (see
   * web/slow-client-guard.ts: per-connection deadlines enforce headersTimeoutMs instead).
   */
  checkIntervalMs: number;
}

/**
 * headers 10 s and request 30 s are far above what a scraper needs on a LAN and cut a
 * slow-loris client off quickly; keep-alive 90 s outlasts the common 15–60 s scrape
 * intervals so Prometheus reuses its connection (and its TLS session).
 */
export const DEFAULT_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 90_000,
  handshakeTimeoutMs: 10_000,
  checkIntervalMs: NODE_CHECK_INTERVAL_OFF,
};

export interface StartOptions {
  /** --web.config.file: TLS, basic auth and response headers, reloaded when it changes. */
  webConfigFile?: string;
  /** For reloads and TLS client problems; silent when absent. */
  logger?: Logger;
  timeouts?: Partial<ServerTimeouts>;
  /** How long close() lets in-flight requests finish before cutting connections. */
  closeGraceMs?: number;
  /** Web config reload tuning (tests use short values). */
  reload?: { debounceMs?: number; pollMs?: number };
}

export interface RunningServer {
  server: http.Server | https.Server;
  /** "127.0.0.1:10071", "[::]:10071". */
  address: string;
  /** true when serving HTTPS. */
  tls: boolean;
  /** Re-reads the web config now (e.g. on SIGHUP); 'unchanged' without a web config. */
  reloadWebConfig(): Promise<ReloadOutcome>;
  /** Stops listening, closes idle keep-alive connections at once, and the rest after a short grace. */
  close(): Promise<void>;
}

function silentLogger(): Logger {
  return createLogger({ level: 'error', format: 'json', destination: { write: () => undefined } });
}

export async function startServer(
  app: express.Application,
  address: ListenAddress,
  opts: StartOptions = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? silentLogger();
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  // Resolved before anything listens: a bad web config is a start-up error (ConfigError).
  const web =
    opts.webConfigFile === undefined
      ? undefined
      : await (await import('./web/web-config-server.js')).prepareWebConfig(opts.webConfigFile, logger, timeouts);

  let server: http.Server | https.Server;
  if (web !== undefined) {
    server = web.createServer(app);
  } else {
    const headers = [...defaultHeaders(false)];
    server = http.createServer({ connectionsCheckingInterval: timeouts.checkIntervalMs }, (req, res) => {
      for (const [name, value] of headers) res.setHeader(name, value);
      app(req, res);
    });
  }
  const isTls = web?.tls ?? false;
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  guardSlowClients(server, isTls, timeouts);

  const listening = await listen(server, address, opts.closeGraceMs ?? 300);
  // After start-up (e.g. EMFILE on accept): log, never crash the exporter.
  server.on('error', (err: Error) => logger.error({ err: err.message }, 'HTTP server error'));

  const reloader = web?.startReloading(opts.reload);

  return {
    server,
    address: listening.address,
    tls: isTls,
    reloadWebConfig: () => reloader?.reload() ?? Promise.resolve('unchanged'),
    close: () => {
      reloader?.close();
      return listening.close();
    },
  };
}
