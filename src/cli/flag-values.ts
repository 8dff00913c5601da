// The values of single flags: parsers from the text given on the command line to what Config
// holds, each throwing ConfigError with one line that says what was expected.

import { isIPv6 } from 'node:net';
import { ConfigError } from '../runtime/config-error.js';

export interface ListenAddress {
  /** undefined = all interfaces (":PORT"). IPv6 addresses without brackets. */
  readonly host?: string;
  readonly port: number;
}

export const MIN_RECEIVE_BUFFER_BYTES = 4096;
export const MAX_RECEIVE_BUFFER_BYTES = 1024 * 1024 * 1024;
export const MAX_LLDP_HOLD_TIME_MS = 365 * 86400 * 1000;

/** Joins a multi-line message into one line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
}

export function parseListenAddress(value: string): ListenAddress {
  const m = /^(?:\[([^\]]*)\]|([^[\]]*)):(\d{1,5})$/.exec(value);
  if (m === null) {
    throw new ConfigError(`expected ":PORT", "HOST:PORT" or "[IPv6]:PORT", got ${JSON.stringify(value)}`);
  }
  const [, bracketed, plain, portText] = m;
  const port = Number(portText);
  if (port > 65535) throw new ConfigError(`port ${port} is out of range 0-65535`);
  if (bracketed !== undefined) {
    if (!isIPv6(bracketed)) throw new ConfigError(`${JSON.stringify(bracketed)} is not an IPv6 address`);
    return Object.freeze({ host: bracketed, port });
  }
  const host = plain ?? '';
  if (host === '') return Object.freeze({ port });
  if (host.includes(':')) {
    throw new ConfigError(`IPv6 addresses need brackets, as in "[${host}]:${port}"`);
  }
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host) || host.length > 253) {
    throw new ConfigError(`${JSON.stringify(host)} is not a valid host name or IPv4 address`);
  }
  return Object.freeze({ host, port });
}

export function formatListenAddress(addr: ListenAddress): string {
  if (addr.host === undefined) return `:${addr.port}`;
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

export function parseTelemetryPath(value: string): string {
  if (!value.startsWith('/')) throw new ConfigError(`path must start with "/", got ${JSON.stringify(value)}`);
  if (value === '/') throw new ConfigError('path "/" is the landing page');
  if (value === '/-' || value.startsWith('/-/')) {
    throw new ConfigError(`path ${JSON.stringify(value)} is reserved for /-/healthy and /-/ready`);
  }
  // Unreserved and sub-delim characters only: the path is matched literally.
  if (!/^[A-Za-z0-9._~!$&'()*+,;=:@/-]+$/.test(value)) {
    throw new ConfigError(`path ${JSON.stringify(value)} contains characters that are not allowed in a URL path`);
  }
  return value;
}

/** "/run/netns,/run/docker/netns" → absolute directories, in order, without duplicates. */
export function parsePathList(value: string): readonly string[] {
  const dirs = value.split(',').map((dir) => dir.trim());
  if (dirs.some((dir) => dir === '')) throw new ConfigError(`expected comma-separated directories, got ${JSON.stringify(value)}`);
  for (const dir of dirs) {
    if (!dir.startsWith('/')) throw new ConfigError(`${JSON.stringify(dir)} is not an absolute path`);
  }
  return [...new Set(dirs.map((dir) => (dir.length > 1 ? dir.replace(/\/+$/, '') : dir)))];
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** A Prometheus duration ("90s", "1h30m", "7d") → ms, at most a year. */
export function parseHoldTime(value: string): number {
  if (!/^(?:\d+(?:ms|s|m|h|d|w))+$/.test(value)) {
    throw new ConfigError(`expected a duration such as 30m, 24h or 7d, got ${JSON.stringify(value)}`);
  }
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) ms += Number(n) * (DURATION_UNITS[unit as string] ?? 0);
  if (!Number.isSafeInteger(ms) || ms > MAX_LLDP_HOLD_TIME_MS) throw new ConfigError(`${value} is more than the maximum of 365d`);
  return ms;
}

export function parseNonEmpty(value: string): string {
  if (value === '') throw new ConfigError('must not be empty');
  return value;
}

export function parseMaxRequests(value: string): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${value} is too large`);
  return n;
}

export function parseBoundedCount(value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(`${value} is out of range ${min}-${max}`);
  return n;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 * 1024,
  GiB: 1024 * 1024 * 1024,
};

/** "8388608", "8MiB", "512KiB" → bytes. */
export function parseByteSize(value: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(value.trim());
  if (m === null) {
    throw new ConfigError(`expected bytes such as 8388608, 512KiB or 8MiB, got ${JSON.stringify(value)}`);
  }
  const bytes = Number(m[1]) * (BYTE_UNITS[m[2] ?? ''] ?? 1);
  if (!Number.isSafeInteger(bytes) || bytes > MAX_RECEIVE_BUFFER_BYTES) {
    throw new ConfigError(`${value} is more than the maximum of 1GiB`);
  }
  if (bytes < MIN_RECEIVE_BUFFER_BYTES) {
    throw new ConfigError(`${value} is less than the minimum of ${MIN_RECEIVE_BUFFER_BYTES} bytes`);
  }
  return bytes;
}

/** Compiles a device name pattern anchored at both ends, like node_exporter's. */
export function parseDeviceRegex(value: string): RegExp {
  if (value === '') throw new ConfigError('regular expression must not be empty');
  try {
    // Compile alone first so that "a)|(b" cannot escape the anchors.
    new RegExp(value);
    return new RegExp(`^(?:${value})$`);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
    throw new ConfigError(`invalid regular expression: ${oneLine(reason)}`);
  }
}
