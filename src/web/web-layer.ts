// What runs before the app (web/app.ts) on every request: response headers (security defaults
// and the web config's http_server_config.headers) and basic authentication. Swapped
// atomically when the web config is reloaded. Loaded only with --web.config.file (see
// web-config-server.ts).

import type http from 'node:http';
import { PROGRAM_NAME } from '../cli/config.js';
import { AuthCache, BasicAuthenticator, CheckQueue, parseBasicAuthorization } from './basic-auth.js';
import { BcryptWorker } from './bcrypt-worker.js';
import { defaultHeaders } from './default-headers.js';
import { OpenRequests } from './open-requests.js';
import type { WebConfig } from './web-config.js';

export { defaultHeaders } from './default-headers.js';

function send(res: http.ServerResponse, status: number, text: string): void {
  const body = Buffer.from(`${text}\n`, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/**
 * /-/healthy and /-/ready answer without authentication: they tell only "alive" and "first dump
 * applied", and the kubelet's (or a load balancer's) probes carry no credentials. Exactly these
 * request targets (a query string aside); every other spelling goes through authentication.
 */
export function isProbeRequest(url: string | undefined): boolean {
  if (url === undefined) return false;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path === '/-/healthy' || path === '/-/ready';
}

export class WebLayer {
  readonly #tls: boolean;
  readonly #cache = new AuthCache();
  // The thread starts on the first check that misses the cache, never without basic auth.
  readonly #bcrypt = new BcryptWorker();
  readonly #queue = new CheckQueue(this.#bcrypt);
  /** Requests let through and still open (event streams): re-checked at every update. */
  readonly open = new OpenRequests();
  #headers: Array<[string, string]> = [];
  #auth: BasicAuthenticator;

  constructor(tls: boolean, config?: WebConfig) {
    this.#tls = tls;
    this.#auth = new BasicAuthenticator(new Map(), this.#queue, this.#cache);
    this.update(config);
  }

  /** The bcrypt thread (tests read whether it runs). */
  get bcrypt(): BcryptWorker {
    return this.#bcrypt;
  }

  /** Stops the bcrypt thread (with the server). */
  close(): void {
    this.#bcrypt.close();
  }

  /** The authenticator in use (tests read its bcrypt run count). */
  get authenticator(): BasicAuthenticator {
    return this.#auth;
  }

  update(config: WebConfig | undefined): void {
    const headers = defaultHeaders(this.#tls);
    for (const [name, value] of config?.headers ?? []) {
      if (value === '') headers.delete(name);
      else headers.set(name, value);
    }
    this.#headers = [...headers];
    // The cache is shared: entries are keyed by the stored hash, so changed users never match.
    this.#auth = new BasicAuthenticator(config?.basicAuthUsers ?? new Map(), this.#queue, this.#cache);
    this.open.setUsers(config?.basicAuthUsers ?? new Map(), this.#auth);
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, next: () => void): void {
    for (const [name, value] of this.#headers) res.setHeader(name, value);
    const auth = this.#auth;
    if (isProbeRequest(req.url)) {
      next();
      return;
    }
    if (!auth.enabled) {
      this.open.track(req, res);
      next();
      return;
    }
    auth.verify(parseBasicAuthorization(req.headers.authorization), req.socket.remoteAddress ?? '').then(
      (result) => {
        if (result === 'ok' && auth !== this.#auth) {
          // Reloaded while checking: checked again under the configuration now in force.
          this.handle(req, res, next);
        } else if (result === 'ok') {
          this.open.track(req, res);
          next();
        } else if (result === 'busy') {
          res.setHeader('Retry-After', '1');
          send(res, 503, 'Too many requests');
        } else {
          res.setHeader('WWW-Authenticate', `Basic realm="${PROGRAM_NAME}", charset="UTF-8"`);
          send(res, 401, 'Unauthorized');
        }
      },
      () => send(res, 500, 'Internal Server Error'),
    );
  }
}
