// HTTP side: startServer listens (HTTP or, with a web config, HTTPS), enforces the timeouts
// and gives back a prompt close(). The routes it serves are web/app.ts's createApp.
// Only what every configuration needs is imported here: --web.config.file (YAML, bcrypt,
// TLS, reloads) lives in web/web-config-server.ts, imported when the flag is given.

import type { Server as HttpServer } from 'node:http';
import { http } from '../runtime/builtins.js';
import type https from 'node:https';
import type { ListenAddress } from '../cli/config.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import type { App } from './app.js';
import { defaultHeaders } from './default-headers.js';
import { listen } from './listener.js';
import { guardRequests } from './request-guard.js';
import { NODE_CHECK_INTERVAL_OFF, guardSlowClients } from './slow-client-guard.js';
import type { ReloadOutcome } from './web-config-reloader.js';

export { createApp, NOT_READY_TEXT, type App, type AppOptions, type Exposition, type MetricsSource } from './app.js';
export { formatBoundAddress, listenErrorMessage } from './listener.js';
export type { ReloadOutcome } from './web-config-reloader.js';

export interface ServerTimeouts {
  /** Time allowed to receive a request's headers: a slow client is answered 408 and cut off. */
  headersTimeoutMs: number;
  /** Time allowed to receive a whole request. */
  requestTimeoutMs: number;
  /**
   * Time allowed from a request's headers until its response is handed whole to the kernel: a
   * client that stops reading is cut off and the body it held released. Event streams excepted.
   */
  responseTimeoutMs: number;
  /** How long an idle keep-alive connection stays open after a response. */
  keepAliveTimeoutMs: number;
  /** Time allowed for a TLS handshake. */
  handshakeTimeoutMs: number;
  /**
   * How often Node's own scan checks the header and request timeouts. Off by default (see
   * web/slow-client-guard.ts: per-connection deadlines enforce headersTimeoutMs and
   * requestTimeoutMs instead, with no timer while no connection is open).
   */
  checkIntervalMs: number;
}

/**
 * headers 10 s and request 30 s are far above what a scraper needs on a LAN and cut a
 * slow-loris client off quickly; response 60 s is the longest scrape timeout a 60 s interval
 * allows, and lets the status page of a large host through a slow link; keep-alive 90 s outlasts
 * the common 15–60 s scrape intervals so Prometheus reuses its connection (and its TLS session).
 */
export const DEFAULT_TIMEOUTS: ServerTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  responseTimeoutMs: 60_000,
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
  server: HttpServer | https.Server;
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
  app: App,
  address: ListenAddress,
  opts: StartOptions = {},
): Promise<RunningServer> {
  const logger = opts.logger ?? silentLogger();
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  // Resolved before anything listens: a bad web config is a start-up error (ConfigError).
  const web =
    opts.webConfigFile === undefined
      ? undefined
      : await (await import('./web-config-server.js')).prepareWebConfig(opts.webConfigFile, logger, timeouts);

  let server: HttpServer | https.Server;
  if (web !== undefined) {
    server = web.createServer(app);
  } else {
    const headers = [...defaultHeaders(false)];
    server = http.createServer(
      { connectionsCheckingInterval: timeouts.checkIntervalMs },
      guardRequests(logger, (req, res) => {
        for (const [name, value] of headers) res.setHeader(name, value);
        app(req, res);
      }),
    );
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
      const closed = listening.close();
      // Event streams never end by themselves: end them now rather than after the grace.
      app.eventStreams?.closeAll();
      return closed;
    },
  };
}
