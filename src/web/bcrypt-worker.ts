// bcrypt comparisons on a worker thread (bcrypt-thread.ts), so that a flood of password checks
// never holds the event loop: netlink rounds, scrapes and cached logins go on meanwhile.
// The thread is started on the first comparison (an exporter whose logins are all cached, or
// without basic auth, never has one) and stopped after idleMs without work: it costs an
// isolate's memory.

import { Worker } from 'node:worker_threads';
import type { CompareReply, CompareRequest } from './bcrypt-thread.js';

export interface BcryptComparer {
  /** Whether password matches the bcrypt hash; rejects only when the comparison could not run. */
  compare(password: string, hash: string): Promise<boolean>;
}

export const DEFAULT_BCRYPT_IDLE_MS = 60_000;

/** A bcrypt comparison needs a few hundred KiB; these caps keep the isolate small. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2, stackSizeMb: 1 };

export class BcryptWorker implements BcryptComparer {
  readonly #idleMs: number;
  readonly #script: URL;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, { resolve(ok: boolean): void; reject(err: Error): void }>();
  #nextId = 0;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;
  /** Threads started so far (tests). */
  started = 0;

  constructor(opts: { idleMs?: number; script?: URL } = {}) {
    this.#idleMs = opts.idleMs ?? DEFAULT_BCRYPT_IDLE_MS;
    this.#script = opts.script ?? new URL('./bcrypt-thread.js', import.meta.url);
  }

  /** Whether the thread exists now. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  compare(password: string, hash: string): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error('bcrypt worker closed'));
    clearTimeout(this.#idle);
    this.#idle = undefined;
    const worker = (this.#worker ??= this.#start());
    const id = ++this.#nextId;
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, password, hash } satisfies CompareRequest);
    });
  }

  /** Stops the thread; comparisons still pending reject. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#stop(new Error('bcrypt worker closed'));
  }

  #start(): Worker {
    const worker = new Worker(this.#script, { resourceLimits: RESOURCE_LIMITS, stdout: true, stderr: true });
    this.started += 1;
    worker.on('message', (reply: CompareReply) => {
      const waiter = this.#pending.get(reply.id);
      if (waiter === undefined) return;
      this.#pending.delete(reply.id);
      waiter.resolve(reply.ok === true);
      if (this.#pending.size === 0) this.#armIdle();
    });
    const lost = (err: Error): void => {
      if (this.#worker === worker) this.#stop(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`bcrypt worker exited with code ${code}`)));
    // Never what keeps the process alive; after the listeners, as adding a 'message' one refs it again.
    worker.unref();
    return worker;
  }

  #armIdle(): void {
    if (this.#idleMs <= 0 || this.#closed) return;
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#pending.size === 0) this.#stop(new Error('bcrypt worker stopped'));
    }, this.#idleMs);
    this.#idle.unref();
  }

  #stop(err: Error): void {
    const worker = this.#worker;
    this.#worker = undefined;
    for (const waiter of this.#pending.values()) waiter.reject(err);
    this.#pending.clear();
    if (worker !== undefined) void worker.terminate();
  }
}
