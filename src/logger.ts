// Structured logging with pino, shaped like the go-kit logs of Prometheus exporters:
//   ts=2026-01-02T03:04:05.678Z level=info msg="link down" device=eth0
// or the same keys as one JSON object per line. ts, level and msg come first.

import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import logfmt from 'logfmt';
import type { LogFormat, LogLevel } from './config.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /**
   * Where lines go. Default: stderr through an asynchronous buffer (sonic-boom) that never
   * blocks the event loop when the reader of stderr falls behind during a storm of carrier
   * changes; beyond 16 MiB of unwritten log the newest lines are dropped, never the scrape.
   * The buffer is flushed synchronously at exit.
   */
  destination?: { write(line: string): unknown };
  /** Clock for `ts` (milliseconds since the epoch); default Date.now. */
  now?: () => number;
}

export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? Date.now;
  const target = options.destination ?? asyncStderr();
  const format = options.format === 'json' ? formatJson : formatLogfmt;
  const stream: DestinationStream = {
    write(line: string): void {
      target.write(format(reorder(line)) + '\n');
    },
  };
  return pino(
    {
      level: options.level,
      base: undefined,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date(now()).toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

const MAX_BUFFERED_LOG_BYTES = 16 * 1024 * 1024;

function asyncStderr(): { write(line: string): unknown } {
  const boom = pino.destination({ dest: 2, sync: false, minLength: 0, maxLength: MAX_BUFFERED_LOG_BYTES });
  process.once('exit', () => {
    try {
      boom.flushSync();
    } catch {
      // stderr gone (EPIPE/EAGAIN): nothing more can be said
    }
  });
  return boom;
}

/** pino's JSON line → an object whose keys start with ts, level, msg. */
function reorder(line: string): Record<string, unknown> {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { msg: line.trimEnd() };
  }
  const { ts, level, msg, ...fields } = record;
  return { ts, level, msg, ...fields };
}

function formatJson(record: Record<string, unknown>): string {
  return JSON.stringify(record);
}

// Characters logfmt.stringify leaves alone but that would break a line-oriented log.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

function formatLogfmt(record: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(record)) {
    if (rawValue === undefined) continue;
    const key = rawKey.replace(/[^A-Za-z0-9_.:-]/g, '_') || '_';
    const value = logfmtValue(rawValue);
    parts.push(CONTROL.test(value) ? `${key}=${JSON.stringify(value)}` : logfmt.stringify({ [key]: value }));
  }
  return parts.join(' ');
}

function logfmtValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // pino's error serializer gives { type, message, stack }: like go-kit, log the message only.
  if (typeof value === 'object' && isSerializedError(value)) return value.message;
  return JSON.stringify(value) ?? String(value);
}

function isSerializedError(value: object): value is { message: string; stack: string } {
  const v = value as Record<string, unknown>;
  return typeof v['message'] === 'string' && typeof v['stack'] === 'string';
}

export interface RateLimitedLog {
  /** Logs now, or counts the event if a line was written less than intervalMs ago. */
  log(msg: string, fields?: Record<string, unknown>): void;
  /** Writes the pending count, if any (e.g. at shutdown). */
  flush(): void;
}

/**
 * For warnings that can come in storms (dropped messages, overruns): the first event of a
 * message is logged at once; later ones within intervalMs are only counted, and the next
 * event after the interval is logged with `suppressed=<count>`. No timer runs: the clock is
 * read when an event comes, so an idle limiter costs nothing.
 */
export function rateLimited(
  logger: Logger,
  intervalMs: number,
  options: { now?: () => number; level?: 'debug' | 'info' | 'warn' | 'error' } = {},
): RateLimitedLog {
  const now = options.now ?? Date.now;
  const level = options.level ?? 'warn';
  const state = new Map<string, { lastLogged: number; suppressed: number; fields?: Record<string, unknown> }>();

  const write = (msg: string, fields: Record<string, unknown> | undefined, suppressed: number): void => {
    const record = suppressed > 0 ? { ...fields, suppressed } : { ...fields };
    logger[level](record, msg);
  };

  return {
    log(msg, fields) {
      const t = now();
      const entry = state.get(msg);
      if (entry === undefined || t - entry.lastLogged >= intervalMs || t < entry.lastLogged) {
        write(msg, fields, entry?.suppressed ?? 0);
        state.set(msg, { lastLogged: t, suppressed: 0 });
        return;
      }
      entry.suppressed += 1;
      entry.fields = fields;
    },
    flush() {
      for (const [msg, entry] of state) {
        if (entry.suppressed > 0) write(msg, entry.fields, entry.suppressed);
        entry.suppressed = 0;
        entry.fields = undefined;
      }
    },
  };
}
