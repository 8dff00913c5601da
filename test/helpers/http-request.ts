// A small HTTP(S) client for tests that need exact control over request headers
// (fetch adds Accept-Encoding and decompresses on its own).

import http from 'node:http';
import https from 'node:https';

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface TestRequest {
  method?: string;
  headers?: Record<string, string>;
  agent?: http.Agent;
  /** Extra options for https (ca, cert, key, servername…); makes the request use TLS. */
  tls?: https.RequestOptions;
}

export function request(base: string, path: string, opts: TestRequest = {}): Promise<TestResponse> {
  const url = new URL(path, base);
  const useTls = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      method: opts.method ?? 'GET',
      headers: opts.headers ?? {},
      ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
      ...(opts.tls ?? {}),
    };
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    };
    const req = useTls ? https.request(url, options, onResponse) : http.request(url, options, onResponse);
    req.on('error', reject);
    req.end();
  });
}
