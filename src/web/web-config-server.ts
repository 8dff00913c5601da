// Everything --web.config.file adds to the HTTP server: the YAML parser, basic auth (bcrypt),
// TLS and the reloader. server.ts imports this module only when a web config is given, so an
// exporter started without one never loads yaml, bcryptjs, node:https or this code
// (test/integration/footprint.test.ts checks it).

import type { RequestListener, Server as HttpServer } from 'node:http';
import { http } from '../runtime/builtins.js';
import type https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '../runtime/config-error.js';
import type { Logger } from '../runtime/logger.js';
import { guardRequests } from './request-guard.js';
import { clientCertificateProblem, handshakeOptions } from './tls-policy.js';
import { WebConfigError, type TlsServerConfig } from './web-config.js';
import { loadWebConfig, type LoadedWebConfig } from './web-config-loader.js';
import { WebConfigReloader, type ReloadOutcome } from './web-config-reloader.js';
import { WebLayer } from './web-layer.js';

export interface ConfiguredTimeouts {
  handshakeTimeoutMs: number;
  checkIntervalMs: number;
}

export interface ConfiguredWeb {
  /** true when serving HTTPS. */
  readonly tls: boolean;
  /** Creates the HTTP or HTTPS server whose requests pass through the web layer first. */
  createServer(app: RequestListener): HttpServer | https.Server;
  /** Starts watching the files; the returned reloader is closed with the server. */
  startReloading(reload?: { debounceMs?: number; pollMs?: number }): {
    reload(): Promise<ReloadOutcome>;
    close(): void;
  };
}

async function loadAtStart(path: string): Promise<LoadedWebConfig> {
  try {
    return await loadWebConfig(path);
  } catch (err) {
    if (err instanceof WebConfigError) throw new ConfigError(`--web.config.file ${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Reads and validates the web config; bad files throw a one-line ConfigError. */
export async function prepareWebConfig(path: string, logger: Logger, timeouts: ConfiguredTimeouts): Promise<ConfiguredWeb> {
  const loaded = await loadAtStart(path);
  for (const warning of loaded.config.warnings) logger.warn({ file: loaded.path }, warning);

  let policy: TlsServerConfig | undefined = loaded.config.tls;
  const isTls = policy !== undefined;
  const layer = new WebLayer(isTls, loaded.config);
  // node:https (and with it node:tls) only for HTTPS.
  const httpsModule = isTls ? (await import('node:https')).default : undefined;
  let server: HttpServer | https.Server | undefined;
  let current = loaded;

  return {
    tls: isTls,
    createServer(app) {
      // Guarded twice: the app may be called later, from basic auth's promise.
      const guardedApp = guardRequests(logger, app);
      const handler = guardRequests(logger, (req, res) => layer.handle(req, res, () => guardedApp(req, res)));
      if (httpsModule !== undefined && policy !== undefined && loaded.secureContext !== undefined) {
        const tlsServer = httpsModule.createServer(
          {
            ...loaded.secureContext,
            ...handshakeOptions(policy.clientAuthType),
            handshakeTimeout: timeouts.handshakeTimeoutMs,
            connectionsCheckingInterval: timeouts.checkIntervalMs,
          },
          handler,
        );
        tlsServer.on('secureConnection', (socket: TLSSocket) => {
          if (policy === undefined) return;
          const problem = clientCertificateProblem(socket, policy);
          if (problem !== undefined) {
            logger.debug({ remote: socket.remoteAddress, reason: problem }, 'TLS client refused');
            socket.destroy();
          }
        });
        tlsServer.on('tlsClientError', (err: Error, socket: TLSSocket) => {
          logger.debug({ remote: socket.remoteAddress, err: err.message }, 'TLS handshake failed');
        });
        server = tlsServer;
      } else {
        server = http.createServer({ connectionsCheckingInterval: timeouts.checkIntervalMs }, handler);
      }
      return server;
    },
    startReloading(reload) {
      const reloader = new WebConfigReloader(loaded, {
        logger,
        ...(reload?.debounceMs !== undefined ? { debounceMs: reload.debounceMs } : {}),
        ...(reload?.pollMs !== undefined ? { pollMs: reload.pollMs } : {}),
        apply: (next) => {
          if ((next.config.tls !== undefined) !== isTls) {
            return `switching between HTTP and HTTPS needs a restart (now ${isTls ? 'HTTPS' : 'HTTP'})`;
          }
          if (next.config.tls !== undefined && next.secureContext !== undefined) {
            const tlsServer = server as https.Server;
            try {
              tlsServer.setSecureContext(next.secureContext);
            } catch (err) {
              return `TLS settings refused: ${err instanceof Error ? err.message : String(err)}`;
            }
            const { requestCert, rejectUnauthorized } = handshakeOptions(next.config.tls.clientAuthType);
            // Read by Node for every new connection.
            Object.assign(tlsServer, { requestCert, rejectUnauthorized });
            policy = next.config.tls;
            // Open streams were admitted under the old policy: close those it no longer admits.
            const oldCa = current.secureContext?.ca;
            const newCa = next.secureContext.ca;
            const caChanged = !(oldCa === newCa || (Buffer.isBuffer(oldCa) && Buffer.isBuffer(newCa) && oldCa.equals(newCa)));
            layer.open.checkTls(policy, caChanged);
          }
          layer.update(next.config);
          current = next;
          return undefined;
        },
      });
      reloader.start();
      return {
        reload: () => reloader.reload(),
        close: () => {
          reloader.close();
          layer.close();
        },
      };
    },
  };
}
