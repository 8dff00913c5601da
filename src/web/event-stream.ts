// GET /api/v1/events: Server-Sent Events. On connect: the kept history after Last-Event-ID
// (all of it without one), then live events as they are published. At most maxClients
// streams at once (one more is answered 503). A reader that falls behind by more than
// slowReaderBytes of unsent data is dropped (the browser's EventSource reconnects and resumes
// by Last-Event-ID), so nothing is buffered without bound. One keep-alive comment timer for
// all streams, running only while at least one stream is open: an idle exporter has none.

import type { Request, Response } from 'express';
import type { LinkEventLog } from '../links/event-log.js';

export interface EventStreamOptions {
  readonly log: LinkEventLog;
  /** Default 16 (--web.events.max-clients). */
  readonly maxClients?: number;
  /** Interval of the ": keep-alive" comment. */
  readonly keepAliveMs?: number;
  /** Unsent bytes (beyond the replay) after which a live event drops the reader. */
  readonly slowReaderBytes?: number;
}

export const DEFAULT_MAX_EVENT_CLIENTS = 16;
export const DEFAULT_KEEP_ALIVE_MS = 15_000;
export const DEFAULT_SLOW_READER_BYTES = 256 * 1024;
/** EventSource's reconnection delay, sent to clients in the first frame. */
const RETRY_MS = 2000;

interface Client {
  readonly res: Response;
  /** writableLength allowed: the replay written at connect plus slowReaderBytes. */
  limit: number;
}

export class EventStreams {
  readonly #opts: EventStreamOptions;
  readonly #clients = new Set<Client>();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Streams dropped for reading too slowly (tests read it). */
  dropped = 0;

  constructor(opts: EventStreamOptions) {
    this.#opts = opts;
  }

  get clients(): number {
    return this.#clients.size;
  }

  handle(req: Request, res: Response): void {
    if (this.#clients.size >= (this.#opts.maxClients ?? DEFAULT_MAX_EVENT_CLIENTS)) {
      const body = 'Too many event streams\n';
      res.status(503);
      res.setHeader('Retry-After', '5');
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(body));
      res.end(body);
      return;
    }
    const log = this.#opts.log;
    const lastEventId = req.get('last-event-id') ?? (typeof req.query['lastEventId'] === 'string' ? req.query['lastEventId'] : undefined);
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    req.socket.setNoDelay(true);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.cork();
    res.write(`retry: ${RETRY_MS}\n\n`);
    for (const frame of log.replay(log.seqOf(lastEventId))) res.write(frame);
    // The end of the replay: what follows is live.
    res.write('event: live\ndata: {}\n\n');
    process.nextTick(() => res.uncork());
    const client: Client = { res, limit: 0 };
    client.limit = res.writableLength + (this.#opts.slowReaderBytes ?? DEFAULT_SLOW_READER_BYTES);
    this.#clients.add(client);
    if (this.#clients.size === 1) this.#start();
    res.once('close', () => this.#remove(client));
  }

  /** Ends every stream (server shutdown). */
  closeAll(): void {
    for (const client of this.#clients) client.res.destroy();
  }

  #send(frame: string): void {
    for (const client of this.#clients) {
      const res = client.res;
      if (res.writableLength > client.limit) {
        this.dropped += 1;
        this.#remove(client);
        res.destroy();
        continue;
      }
      res.write(frame);
    }
  }

  #remove(client: Client): void {
    if (this.#clients.delete(client) && this.#clients.size === 0) this.#stop();
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    this.#unsubscribe = this.#opts.log.subscribe((frame) => this.#send(frame));
    this.#timer = setInterval(() => this.#send(': keep-alive\n\n'), this.#opts.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS);
    this.#timer.unref();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
