// Response headers the exporter sets on every response, with or without --web.config.file.
// Kept apart from web-layer.ts so that a plain-HTTP exporter never loads basic auth (bcrypt).

/** Default headers on every response; the web config can override them (empty = remove). */
export function defaultHeaders(tls: boolean): Map<string, string> {
  const headers = new Map<string, string>([
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
  ]);
  // Only meaningful over HTTPS (browsers ignore it over HTTP). No includeSubDomains.
  if (tls) headers.set('Strict-Transport-Security', 'max-age=31536000');
  return headers;
}
