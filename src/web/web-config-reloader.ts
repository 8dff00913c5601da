// Keeps a loaded --web.config.file current: watches the directories of the config file and
// of the certificate/key/CA files it names (fs.watch on directories survives editors'
// rename-into-place and Kubernetes' symlink swaps), plus a slow poll in case an event is
// missed. On any event it re-reads everything after a short debounce and compares a hash
// of all the bytes: unchanged → nothing; changed and valid → apply; invalid → keep the
// last good config and log why (once per distinct problem).

import type { FSWatcher } from 'node:fs';
import { fs } from '../runtime/builtins.js';
import { dirname } from 'node:path';
import type { Logger } from '../runtime/logger.js';
import type { WebConfig } from './web-config.js';
import { loadWebConfig, type LoadedWebConfig } from './web-config-loader.js';

const { watch } = fs;

export type ReloadOutcome = 'unchanged' | 'applied' | 'rejected';

export interface ReloaderOptions {
  logger: Logger;
  /** Installs a new config; returns why it cannot be used, or undefined when installed. */
  apply(next: LoadedWebConfig): string | undefined;
  /** Quiet time after a file event before re-reading (several files change together). */
  debounceMs?: number;
  /** Re-read this often even without events; 0 = never. */
  pollMs?: number;
}

/**
 * Why `next` may not replace `current` at a reload because it would open the exporter: no
 * basic-auth user left, no TLS, a client certificate no longer required or no longer verified,
 * or the client SAN allow-list removed. A file emptied by
 * mistake (or half-written) must not silently turn protection off; turning it off on purpose
 * takes a restart. Changing users, certificates or CAs, or adding protection, is fine.
 */
export function weakeningProblem(current: WebConfig, next: WebConfig): string | undefined {
  if (current.basicAuthUsers.size > 0 && next.basicAuthUsers.size === 0) {
    return 'the new file has no basic_auth_users and would turn basic authentication off; restart the exporter to turn it off';
  }
  if (current.tls !== undefined && next.tls === undefined) {
    return 'the new file has no tls_server_config and would serve plain HTTP; restart the exporter to turn TLS off';
  }
  const required = (c: WebConfig): boolean =>
    c.tls?.clientAuthType === 'RequireAnyClientCert' || c.tls?.clientAuthType === 'RequireAndVerifyClientCert';
  if (required(current) && !required(next)) {
    return `client_auth_type ${next.tls?.clientAuthType ?? 'NoClientCert'} would stop requiring a client certificate; restart the exporter to turn that off`;
  }
  // A certificate required and verified against the client CA, then required only: any
  // self-signed certificate would be let in.
  if (current.tls?.clientAuthType === 'RequireAndVerifyClientCert' && next.tls?.clientAuthType === 'RequireAnyClientCert') {
    return 'client_auth_type RequireAnyClientCert would stop verifying client certificates against client_ca_file; restart the exporter to turn that off';
  }
  if ((current.tls?.clientAllowedSans.length ?? 0) > 0 && (next.tls?.clientAllowedSans.length ?? 0) === 0) {
    return 'the new file has no client_allowed_sans and would admit any verified client certificate; restart the exporter to turn that off';
  }
  return undefined;
}

export const DEFAULT_RELOAD_DEBOUNCE_MS = 250;
export const DEFAULT_RELOAD_POLL_MS = 60_000;

export class WebConfigReloader {
  #current: LoadedWebConfig;
  readonly #opts: Required<ReloaderOptions>;
  readonly #watchers = new Map<string, FSWatcher>();
  #debounce: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #chain: Promise<ReloadOutcome> = Promise.resolve('unchanged');
  #queued: Promise<ReloadOutcome> | undefined;
  #lastProblem: string | undefined;
  #closed = false;

  constructor(initial: LoadedWebConfig, opts: ReloaderOptions) {
    this.#current = initial;
    this.#opts = {
      debounceMs: DEFAULT_RELOAD_DEBOUNCE_MS,
      pollMs: DEFAULT_RELOAD_POLL_MS,
      ...opts,
    };
  }

  get current(): LoadedWebConfig {
    return this.#current;
  }

  start(): void {
    this.#watchDirectories();
    if (this.#opts.pollMs > 0) {
      this.#poll = setInterval(() => this.#schedule(0), this.#opts.pollMs);
      this.#poll.unref();
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#poll);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  /** Re-reads now, or right after the reload already running; concurrent calls share one. */
  reload(): Promise<ReloadOutcome> {
    if (this.#queued !== undefined) return this.#queued;
    const next = this.#chain.then(() => {
      this.#queued = undefined;
      return this.#reloadOnce();
    });
    this.#queued = next;
    this.#chain = next.catch(() => 'rejected' as const);
    return next;
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    const path = this.#current.path;
    const log = this.#opts.logger;
    let next: LoadedWebConfig;
    try {
      next = await loadWebConfig(path);
    } catch (err) {
      this.#problem(err instanceof Error ? err.message : String(err));
      return 'rejected';
    }
    if (this.#closed) return 'unchanged';
    if (next.hash === this.#current.hash) {
      this.#lastProblem = undefined;
      return 'unchanged';
    }
    const refused = weakeningProblem(this.#current.config, next.config) ?? this.#opts.apply(next);
    if (refused !== undefined) {
      this.#problem(refused);
      return 'rejected';
    }
    this.#current = next;
    this.#lastProblem = undefined;
    for (const warning of next.config.warnings) log.warn({ file: path }, warning);
    log.info(
      {
        file: path,
        tls: next.config.tls !== undefined,
        basic_auth_users: next.config.basicAuthUsers.size,
        ...(next.certificate !== undefined
          ? { cert_serial: next.certificate.serialNumber, cert_not_after: next.certificate.validTo }
          : {}),
      },
      'web config reloaded',
    );
    this.#watchDirectories();
    return 'applied';
  }

  #problem(reason: string): void {
    if (reason === this.#lastProblem) return;
    this.#lastProblem = reason;
    this.#opts.logger.error({ file: this.#current.path, err: reason }, 'web config not reloaded; keeping the last good one');
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.reload(), delayMs);
    this.#debounce.unref();
  }

  #watchDirectories(): void {
    const wanted = new Set(this.#current.files.map((f) => dirname(f)));
    for (const [dir, w] of this.#watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.#watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.#watchers.has(dir) || this.#closed) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.#schedule(this.#opts.debounceMs));
        w.on('error', (err) => {
          this.#opts.logger.warn({ dir, err: err.message }, 'cannot watch directory; relying on the periodic re-read');
          w.close();
          this.#watchers.delete(dir);
        });
        this.#watchers.set(dir, w);
      } catch (err) {
        this.#opts.logger.warn(
          { dir, err: err instanceof Error ? err.message : String(err) },
          'cannot watch directory; relying on the periodic re-read',
        );
      }
    }
  }
}
