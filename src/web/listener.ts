// Listening and stopping: bind errors become one-line ConfigErrors, and close() is prompt
// (idle keep-alive connections closed at once, the rest cut after a short grace).

import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { formatListenAddress, type ListenAddress } from '../cli/config.js';
import { ConfigError } from '../runtime/config-error.js';

export type AnyHttpServer = http.Server | https.Server;

export interface Listening {
  /** "127.0.0.1:10071", "[::]:10071". */
  address: string;
  close(): Promise<void>;
}

export function formatBoundAddress(info: AddressInfo | string | null): string {
  if (info === null) return '';
  if (typeof info === 'string') return info;
  return info.family === 'IPv6' || info.address.includes(':') ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EAI_NONAME: 'host not found',
};

export function listenErrorMessage(listen: ListenAddress, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const reason = typeof code === 'string' ? `${LISTEN_ERRORS[code] ?? message} (${code})` : message;
  return `cannot listen on ${formatListenAddress(listen)}: ${reason.split('\n')[0] ?? reason}`;
}

export function listen(server: AnyHttpServer, address: ListenAddress, closeGraceMs: number): Promise<Listening> {
  // Raw TCP sockets, including TLS handshakes in progress that Node's HTTP layer does not track.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, closeGraceMs);
      timer.unref();
      server.once('close', () => clearTimeout(timer));
    });
    return closing;
  };

  return new Promise<Listening>((resolve, reject) => {
    const onError = (err: unknown): void => {
      reject(new ConfigError(listenErrorMessage(address, err), { cause: err }));
    };
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off('error', onError);
      resolve({ address: formatBoundAddress(server.address()), close });
    });
  });
}
