// Slow-client protection without a periodic timer. Node enforces headersTimeout/requestTimeout
// by scanning all connections from a setInterval that runs for as long as the server listens,
// idle or not; this exporter promises no wake-ups while nothing changes. So Node's scan is
// pushed out of the way (connectionsCheckingInterval of ~24.8 days) and each connection gets
// its own deadline instead, armed only while that connection exists:
// - from accept (or the end of the TLS handshake) to the first request: headersTimeoutMs;
// - after each response, for the next request on a keep-alive connection:
//   keepAliveTimeoutMs + headersTimeoutMs (the idle wait itself is Node's keep-alive timeout).
// A client that misses its deadline is answered 408 and cut off, as Node would.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/** Effectively never: the largest delay a Node timer accepts. */
export const NODE_CHECK_INTERVAL_OFF = 2 ** 31 - 1;

const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

export function guardSlowClients(
  server: HttpServer | HttpsServer,
  tls: boolean,
  timeouts: { headersTimeoutMs: number; keepAliveTimeoutMs: number },
): void {
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  const arm = (socket: Socket, ms: number): void => {
    clearTimeout(deadlines.get(socket));
    if (ms <= 0 || socket.destroyed) return;
    const timer = setTimeout(() => {
      if (socket.destroyed) return;
      socket.end(REQUEST_TIMEOUT_RESPONSE);
      socket.destroySoon();
    }, ms);
    timer.unref();
    deadlines.set(socket, timer);
  };
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    arm(socket, timeouts.headersTimeoutMs);
    socket.once('close', () => clearTimeout(deadlines.get(socket)));
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    clearTimeout(deadlines.get(socket));
    res.once('finish', () => arm(socket, timeouts.keepAliveTimeoutMs + timeouts.headersTimeoutMs));
  });
}
