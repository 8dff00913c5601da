// The HTML page served at "/": name, version and links. Rendered once at start-up.
// Its only style sheet is inline and allowed by hash in the Content-Security-Policy,
// so the policy needs no 'unsafe-inline'.

import { createHash } from 'node:crypto';

export interface LandingPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:2em;max-width:50em;line-height:1.5}' +
  'code{background:#eee;padding:0 .2em}';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderLandingPage(opts: { name: string; version: string; telemetryPath: string }): LandingPage {
  const name = escapeHtml(opts.name);
  const version = escapeHtml(opts.version);
  const path = escapeHtml(opts.telemetryPath);
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${name}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${name}</h1>
<p>Prometheus exporter for network link carrier, admin and oper state and flap counts.</p>
<p>Version: <code>${version}</code></p>
<ul>
<li><a href="${path}">Metrics</a> (<code>${path}</code>)</li>
<li><a href="/-/healthy">Health</a> (<code>/-/healthy</code>)</li>
<li><a href="/-/ready">Readiness</a> (<code>/-/ready</code>)</li>
</ul>
</body>
</html>
`;
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  const contentSecurityPolicy =
    `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; ` +
    `frame-ancestors 'none'`;
  return { html, contentSecurityPolicy };
}
