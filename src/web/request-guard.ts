// Wraps a request listener so that nothing can throw out of it: a synchronous throw or a
// rejected promise is logged and answered 500 (or the connection cut when the headers are
// already out), and the server goes on serving. An exception escaping a 'request' listener
// would otherwise end the process.

import type http from 'node:http';
import type { Logger } from '../runtime/logger.js';

export type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => unknown;

function answer500(res: http.ServerResponse): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  try {
    // Whatever the failed handler set (perhaps the header that threw) is dropped.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    const body = Buffer.from('Internal Server Error\n', 'utf8');
    res.statusCode = 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', body.length);
    res.end(body);
  } catch {
    res.destroy();
  }
}

export function guardRequests(logger: Logger, listener: Listener): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const fail = (err: unknown, req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    logger.error(
      {
        err: err instanceof Error ? `${err.message}${'code' in err ? ` (${String(err.code)})` : ''}` : String(err),
        method: req.method,
        path: q < 0 ? url : url.slice(0, q),
      },
      'request handler failed; answered 500',
    );
    answer500(res);
  };
  return (req, res) => {
    try {
      const result = listener(req, res);
      if (result instanceof Promise) result.catch((err: unknown) => fail(err, req, res));
    } catch (err) {
      fail(err, req, res);
    }
  };
}
