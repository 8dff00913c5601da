// A Server-Sent Events client for tests: a real HTTP(S) request whose response is parsed frame
// by frame as the EventSource spec says (id, event, data, retry; comments kept apart).

import http from 'node:http';
import https from 'node:https';

export interface SseFrame {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

export interface SseStream {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly frames: SseFrame[];
  /** Comment lines (": keep-alive") seen so far. */
  readonly comments: string[];
  /** true once the server ended or cut the stream. */
  readonly closed: boolean;
  /** The "link" frames' data, parsed. */
  links(): Array<Record<string, unknown>>;
  /** Resolves when pred holds (checked on every frame), rejects after timeoutMs. */
  until(what: string, pred: (s: SseStream) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
  /** The body text of a non-200 answer. */
  readonly text: string;
}

export function openEvents(
  url: string,
  opts: { headers?: Record<string, string>; tls?: https.RequestOptions } = {},
): Promise<SseStream> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = { headers: { accept: 'text/event-stream', ...opts.headers }, agent: false, ...(opts.tls ?? {}) };
    const onResponse = (res: http.IncomingMessage): void => {
      const waiters = new Set<() => void>();
      let buffer = '';
      let text = '';
      let closed = false;
      const frames: SseFrame[] = [];
      const comments: string[] = [];
      const stream: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        comments,
        get closed() {
          return closed;
        },
        get text() {
          return text;
        },
        links: () => frames.filter((f) => f.event === 'link').map((f) => JSON.parse(f.data) as Record<string, unknown>),
        until(what, pred, timeoutMs = 5000) {
          return new Promise<void>((ok, fail) => {
            if (pred(stream)) return ok();
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; frames: ${JSON.stringify(frames.slice(-5))}`));
            }, timeoutMs);
            const check = (): void => {
              if (!pred(stream)) return;
              clearTimeout(timer);
              waiters.delete(check);
              ok();
            };
            waiters.add(check);
          });
        },
        close: () => {
          req.destroy();
        },
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (stream.status !== 200) {
          text += chunk;
          return;
        }
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | undefined;
          let event = 'message';
          const data: string[] = [];
          let fields = 0;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments.push(line);
              continue;
            }
            const colon = line.indexOf(':');
            const name = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            fields += 1;
            if (name === 'id') id = value;
            else if (name === 'event') event = value;
            else if (name === 'data') data.push(value);
          }
          if (fields > 0 && data.length > 0) frames.push({ ...(id === undefined ? {} : { id }), event, data: data.join('\n') });
        }
        for (const w of [...waiters]) w();
      });
      const finish = (): void => {
        closed = true;
        for (const w of [...waiters]) w();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      resolve(stream);
    };
    const req = u.protocol === 'https:' ? https.request(u, options, onResponse) : http.request(u, options, onResponse);
    req.on('error', reject);
    req.end();
  });
}
