// The requests the web layer let through that are still open (event streams above all, which
// last for hours), with what they were let in with. A reload re-checks them against the new
// configuration and closes those it would no longer accept: a user removed or whose password
// changed, basic auth turned on for a stream opened without it, a client certificate the new
// TLS policy refuses. Requests that are still acceptable go on untouched.

import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { parseBasicAuthorization, type BasicAuthenticator } from './basic-auth.js';
import { clientCertificateProblem } from './tls-policy.js';
import type { TlsServerConfig } from './web-config.js';

interface Open {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  /** The stored hash the request's password was checked against; undefined without basic auth. */
  readonly hash: string | undefined;
}

export class OpenRequests {
  readonly #open = new Set<Open>();
  #users: ReadonlyMap<string, string> = new Map();

  get size(): number {
    return this.#open.size;
  }

  /** Call once the request is let through, under the users of the last setUsers. */
  track(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (res.writableFinished || res.destroyed) return;
    const user = this.#users.size > 0 ? parseBasicAuthorization(req.headers.authorization)?.user : undefined;
    const entry: Open = { req, res, hash: user === undefined ? undefined : this.#users.get(user) };
    this.#open.add(entry);
    res.once('close', () => this.#open.delete(entry));
  }

  /**
   * Installs the users of a new configuration and closes the open requests they no longer
   * admit. A changed hash is checked with bcrypt (through `auth`, which caches successes); an
   * unchanged one is kept without a check.
   */
  setUsers(users: ReadonlyMap<string, string>, auth: BasicAuthenticator): void {
    this.#users = users;
    if (users.size === 0) return;
    for (const entry of this.#open) {
      const credentials = parseBasicAuthorization(entry.req.headers.authorization);
      const stored = credentials === undefined ? undefined : users.get(credentials.user);
      if (credentials === undefined || stored === undefined || entry.hash === undefined) {
        this.#close(entry);
      } else if (stored !== entry.hash) {
        auth.verify(credentials, entry.req.socket.remoteAddress ?? '').then(
          (result) => {
            // 'busy' too: the client reconnects and is checked like any new request.
            if (result !== 'ok') this.#close(entry);
          },
          () => this.#close(entry),
        );
      }
    }
  }

  /**
   * Closes the open requests whose TLS connection the new policy would refuse. A changed client
   * CA closes every connection that was verified against the old one: it is not re-verified.
   */
  checkTls(policy: TlsServerConfig, caChanged: boolean): void {
    for (const entry of this.#open) {
      const socket = entry.req.socket as TLSSocket;
      if (typeof socket.getPeerCertificate !== 'function') continue;
      const verified = policy.clientAuthType === 'VerifyClientCertIfGiven' || policy.clientAuthType === 'RequireAndVerifyClientCert';
      const hasCert = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
      if (clientCertificateProblem(socket, policy) !== undefined || (caChanged && verified && hasCert)) this.#close(entry);
    }
  }

  #close(entry: Open): void {
    this.#open.delete(entry);
    entry.res.destroy();
  }
}
