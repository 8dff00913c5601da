// Slow-client protection without a periodic timer. Node enforces headersTimeout/requestTimeout
// by scanning all connections from a setInterval that runs for as long as the server listens,
// idle or not; this exporter promises no wake-ups while nothing changes. So Node's scan is
// pushed out of the way (connectionsCheckingInterval of ~24.8 days) and each connection gets
// its own deadline instead, armed only while that connection exists:
// - from accept (or the end of the TLS handshake) to the first request: headersTimeoutMs;
// - after each response, for the next request on a keep-alive connection:
//   keepAliveTimeoutMs + headersTimeoutMs (the idle wait itself is Node's keep-alive timeout);
// - from a request's headers until its response: requestTimeoutMs from the connection's
//   deadline start; when it fires, a request the client has not finished sending (req.complete
//   false: a trickled body) is cut, and one that arrived whole (a long response such as an
//   event stream) is left alone, as Node's requestTimeout covers receiving the request only.
// - from a request's headers until its response is handed whole to the kernel:
//   responseTimeoutMs; a client that stops reading (its body held in memory meanwhile) is cut
//   off without an answer. Event streams, which never end, are exempted by their route.
// A client that misses its deadline is answered 408 and cut off, as Node would.
// Why not Node's own check: its connectionsCheckingInterval is a setInterval that runs for as
// long as the server listens, a wake-up every interval on an idle exporter
// (test/integration/web-idle.test.ts watches the server's main thread for wake-ups).
// The deadlines are ref'd timers: Node keeps the emptied list of a cleared unref'd timer (one list
// per duration) until it was due and wakes the loop for it then; a ref'd one's list goes with it.
// The exporter ends by process.exit, so an open connection's deadline never holds its exit.
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/** Effectively never: the largest delay a Node timer accepts. */
export const NODE_CHECK_INTERVAL_OFF = 2 ** 31 - 1;

const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

const longLived = new WeakSet<ServerResponse>();

/** Exempts a response that never ends (an event stream) from the response timeout. */
export function exemptFromResponseTimeout(res: ServerResponse): void {
  longLived.add(res);
}

/**
 * Clears a deadline through its own handle: a socket's close can come a turn after the server's,
 * when a test may have mocked the global clearTimeout, which would leave a real, ref'd timer armed.
 */
function cancel(timer: NodeJS.Timeout | undefined): void {
  timer?.[Symbol.dispose]();
}

/** Drops a connection now, with what is queued on it: a reset on plain TCP frees the kernel's buffers too. */
function cut(socket: Socket): void {
  if ('encrypted' in socket || typeof socket.resetAndDestroy !== 'function') socket.destroy();
  else socket.resetAndDestroy();
}

export function guardSlowClients(
  server: HttpServer | HttpsServer,
  tls: boolean,
  timeouts: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; responseTimeoutMs?: number },
): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const started = new WeakMap<Socket, number>();
  const arm = (socket: Socket, ms: number, req?: IncomingMessage): NodeJS.Timeout | undefined => {
    cancel(deadlines.get(socket));
    if (ms <= 0 || socket.destroyed) return undefined;
    const timer = setTimeout(() => {
      if (socket.destroyed || req?.complete === true) return;
      socket.end(REQUEST_TIMEOUT_RESPONSE);
      socket.destroySoon();
    }, ms);
    deadlines.set(socket, timer);
    return timer;
  };
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    // The first request's time counts from here; later ones on the connection from their headers.
    started.set(socket, Date.now());
    arm(socket, timeouts.headersTimeoutMs);
    socket.once('close', () => cancel(deadlines.get(socket)));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    cancel(deadlines.get(socket));
    const since = started.get(socket) ?? Date.now();
    started.delete(socket);
    if (timeouts.requestTimeoutMs > 0 && !req.complete) {
      const timer = arm(socket, Math.max(1, timeouts.requestTimeoutMs - (Date.now() - since)), req);
      res.once('close', () => {
        if (deadlines.get(socket) === timer) cancel(timer);
      });
    }
    res.once('finish', () => arm(socket, timeouts.keepAliveTimeoutMs + timeouts.headersTimeoutMs));
    const responseMs = timeouts.responseTimeoutMs ?? 0;
    if (responseMs > 0) {
      const timer = setTimeout(() => {
        if (!res.writableFinished && !longLived.has(res) && !socket.destroyed) cut(socket);
      }, responseMs);
      res.once('close', () => cancel(timer));
    }
  });
}
