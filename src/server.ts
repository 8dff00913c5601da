// HTTP side: createApp builds the express app (telemetry path, landing page, health and
// readiness) and never listens; startServer listens and gives back a prompt close().

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { formatListenAddress, PROGRAM_NAME, type ListenAddress } from './config.js';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { renderLandingPage } from './web/landing-page.js';
import { acceptsGzip, negotiateOpenMetrics } from './web/negotiate.js';

export interface Exposition {
  contentType: string;
  body: Buffer;
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
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const landing = renderLandingPage({ name: PROGRAM_NAME, version: opts.version, telemetryPath: opts.telemetryPath });
  const maxRequests = opts.maxRequests ?? 0;
  let inFlight = 0;

  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });

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
      res.setHeader('Content-Length', exposition.body.length);
      res.end(req.method === 'HEAD' ? undefined : exposition.body);
    } finally {
      inFlight -= 1;
    }
  });

  app.all('/', (req: Request, res: Response) => {
    if (!onlyGetHead(req, res)) return;
    const body = Buffer.from(landing.html, 'utf8');
    res.status(200);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Security-Policy', landing.contentSecurityPolicy);
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
  /** Time allowed to receive a request's headers (slow-loris cut-off). */
  headersTimeoutMs: number;
  /** Time allowed to receive a whole request. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open after a response. */
  keepAliveTimeoutMs: number;
  /** How often Node checks the two limits above. */
  checkIntervalMs: number;
}

export const DEFAULT_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 90_000,
  checkIntervalMs: 1_000,
};

export interface StartOptions {
  timeouts?: Partial<ServerTimeouts>;
  /** How long close() lets in-flight requests finish before cutting connections. */
  closeGraceMs?: number;
}

export interface RunningServer {
  server: http.Server;
  /** "127.0.0.1:10071", "[::]:10071". */
  address: string;
  /** Stops listening, closes idle keep-alive connections at once, and the rest after a short grace. */
  close(): Promise<void>;
}

export function formatBoundAddress(info: AddressInfo | string | null): string {
  if (info === null) return '';
  if (typeof info === 'string') return info;
  return info.family === 'IPv6' || info.address.includes(':') ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EAI_NONAME: 'host not found',
};

export function listenErrorMessage(listen: ListenAddress, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const reason =
    typeof code === 'string'
      ? `${LISTEN_ERRORS[code] ?? (err instanceof Error ? err.message : String(err))} (${code})`
      : err instanceof Error
        ? err.message
        : String(err);
  return `cannot listen on ${formatListenAddress(listen)}: ${reason.split('\n')[0] ?? reason}`;
}

export function applyTimeouts(server: http.Server, timeouts: ServerTimeouts): void {
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
}

/** Listens on `server` (created elsewhere, e.g. HTTPS) and returns the running handle. */
export function listen(
  server: http.Server,
  address: ListenAddress,
  opts: { closeGraceMs?: number } = {},
): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const closeGraceMs = opts.closeGraceMs ?? 300;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, closeGraceMs);
      timer.unref();
      server.once('close', () => clearTimeout(timer));
    });
    return closing;
  };

  return new Promise<RunningServer>((resolve, reject) => {
    const onError = (err: unknown): void => {
      reject(new ConfigError(listenErrorMessage(address, err), { cause: err }));
    };
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', onError);
      resolve({ server, address: formatBoundAddress(server.address()), close });
    });
  });
}

export function startServer(
  app: express.Application,
  address: ListenAddress,
  opts: StartOptions = {},
): Promise<RunningServer> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const server = http.createServer({ connectionsCheckingInterval: timeouts.checkIntervalMs }, app);
  applyTimeouts(server, timeouts);
  return listen(server, address, { closeGraceMs: opts.closeGraceMs ?? 300 });
}
