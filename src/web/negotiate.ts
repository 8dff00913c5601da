// Content negotiation for the telemetry path, after client_golang's expfmt.Negotiate:
// walk the Accept header's media ranges from the highest q-value down and take the first
// one we can produce — OpenMetrics (version 1.0.0, 0.0.1 or none) or the Prometheus text
// format (version 0.0.4 or none). Wildcards and unknown types fall through to the text
// format, which is also the answer when there is no Accept header.

export interface MediaRange {
  /** "type/subtype", lower case. */
  readonly type: string;
  /** Parameters other than q; names lower case, quotes removed. */
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

/** Splits on commas outside quoted strings. */
function splitList(header: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < header.length; i += 1) {
    const c = header[i] as string;
    if (quoted && c === '\\' && i + 1 < header.length) {
      current += c + header[i + 1];
      i += 1;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === separator && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** "0.5" → 0.5; RFC 9110 allows 0–1 with at most three decimals. Invalid → undefined. */
function parseQ(value: string): number | undefined {
  if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value)) return undefined;
  return Number(value);
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return value;
}

/** Parses an Accept header, highest q first (stable for equal q). Bad q-values drop the range. */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined) return [];
  const ranges: MediaRange[] = [];
  for (const item of splitList(header, ',')) {
    const [typePart = '', ...paramParts] = splitList(item, ';');
    const type = typePart.toLowerCase();
    if (!/^[^/\s]+\/[^/\s]+$/.test(type)) continue;
    const params = new Map<string, string>();
    let q: number | undefined = 1;
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq <= 0) continue;
      const name = p.slice(0, eq).trim().toLowerCase();
      const value = unquote(p.slice(eq + 1).trim());
      if (name === 'q') q = parseQ(value);
      else params.set(name, value);
    }
    if (q === undefined) continue;
    ranges.push({ type, params, q });
  }
  return ranges
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.q - a.r.q || a.i - b.i)
    .map(({ r }) => r);
}

const OPENMETRICS_VERSIONS = new Set(['1.0.0', '0.0.1']);

/** true when the client prefers OpenMetrics, false for the Prometheus text format. */
export function negotiateOpenMetrics(accept: string | undefined): boolean {
  for (const range of parseAccept(accept)) {
    if (range.q <= 0) continue;
    const version = range.params.get('version');
    if (range.type === 'application/openmetrics-text' && (version === undefined || OPENMETRICS_VERSIONS.has(version))) {
      return true;
    }
    if (range.type === 'text/plain' && (version === undefined || version === '0.0.4')) {
      return false;
    }
  }
  return false;
}

/** true when Accept-Encoding allows gzip: "gzip" with q > 0, or "*" with q > 0 and no "gzip" entry. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  let gzipQ: number | undefined;
  let anyQ: number | undefined;
  for (const item of splitList(acceptEncoding, ',')) {
    const [codingPart = '', ...paramParts] = splitList(item, ';');
    const coding = codingPart.toLowerCase();
    let q: number | undefined = 1;
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === 'q') q = parseQ(p.slice(eq + 1).trim());
    }
    if (q === undefined) continue;
    if (coding === 'gzip' || coding === 'x-gzip') gzipQ = Math.max(gzipQ ?? 0, q);
    else if (coding === '*') anyQ = q;
  }
  if (gzipQ !== undefined) return gzipQ > 0;
  return anyQ !== undefined && anyQ > 0;
}
