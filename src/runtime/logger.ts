// Structured logging shaped like the go-kit logs of Prometheus exporters:
//   ts=2026-01-02T03:04:05.678Z level=info msg="link down" device=eth0
// or the same keys as one JSON object per line (log-format.ts). ts, level and msg come first.
//
// Each line is formatted once, straight from the fields, and handed to the destination as one
// string. A disabled level returns before touching its arguments; hot paths that would build a
// field object ask isLevelEnabled() first. Stderr goes through the shared FdLineWriter
// (fd-line-writer.ts): asynchronous, bounded, flushed synchronously at exit.

import type { LogFormat, LogLevel } from '../cli/config.js';
import { sharedStderr } from './fd-line-writer.js';
import { jsonLine, logfmtLine } from './log-format.js';

export type LogFields = Readonly<Record<string, unknown>>;

export interface LogFn {
  (fields: LogFields, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  readonly level: LogLevel;
  /** False for a level below the configured one: callers can skip building the fields. */
  isLevelEnabled(level: LogLevel): boolean;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose lines carry `bindings` after msg (a field of the same key wins). */
  child(bindings: LogFields): Logger;
  /** Lines dropped because the destination could not take them (full buffer, stderr gone). */
  readonly droppedLines: number;
}

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /**
   * Where lines go, one write() per line ending in '\n'. Default: stderr through the process's
   * one FdLineWriter, which never blocks the event loop when the reader of stderr falls behind
   * during a storm of carrier changes; beyond MAX_BUFFERED_LOG_BYTES of unwritten log the
   * newest lines are dropped (counted in droppedLines), never the scrape. It is flushed
   * synchronously at exit.
   */
  destination?: { write(line: string): unknown };
  /** Clock for `ts` (milliseconds since the epoch); default Date.now. */
  now?: () => number;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? sharedStderr();
  const core: Core = {
    destination,
    json: options.format === 'json',
    now: options.now ?? Date.now,
    lastMs: Number.NaN,
    lastTs: '',
  };
  return new LineLogger(core, options.level, undefined);
}

interface Core {
  readonly destination: { write(line: string): unknown; readonly droppedLines?: number };
  readonly json: boolean;
  readonly now: () => number;
  // `ts` of the last line: a storm logs many lines within one millisecond.
  lastMs: number;
  lastTs: string;
}

class LineLogger implements Logger {
  readonly level: LogLevel;
  readonly #min: number;
  readonly #core: Core;
  readonly #bindings: LogFields | undefined;

  constructor(core: Core, level: LogLevel, bindings: LogFields | undefined) {
    this.level = level;
    this.#min = RANK[level];
    this.#core = core;
    this.#bindings = bindings;
  }

  get droppedLines(): number {
    return this.#core.destination.droppedLines ?? 0;
  }

  isLevelEnabled(level: LogLevel): boolean {
    return RANK[level] >= this.#min;
  }

  debug(fieldsOrMsg: LogFields | string, msg?: string): void {
    if (this.#min > 10) return;
    this.#log('debug', fieldsOrMsg, msg);
  }

  info(fieldsOrMsg: LogFields | string, msg?: string): void {
    if (this.#min > 20) return;
    this.#log('info', fieldsOrMsg, msg);
  }

  warn(fieldsOrMsg: LogFields | string, msg?: string): void {
    if (this.#min > 30) return;
    this.#log('warn', fieldsOrMsg, msg);
  }

  error(fieldsOrMsg: LogFields | string, msg?: string): void {
    this.#log('error', fieldsOrMsg, msg);
  }

  child(bindings: LogFields): Logger {
    return new LineLogger(this.#core, this.level, merge(this.#bindings, bindings));
  }

  #log(level: LogLevel, fieldsOrMsg: LogFields | string, msgArg: string | undefined): void {
    let fields: LogFields | undefined;
    let msg: unknown = msgArg;
    if (typeof fieldsOrMsg === 'string') {
      msg = fieldsOrMsg;
      fields = this.#bindings;
    } else if (fieldsOrMsg instanceof Error) {
      // logger.error(err): as pino did, the error under `err` and its message as msg.
      fields = merge(this.#bindings, { err: fieldsOrMsg });
      if (msg === undefined) msg = fieldsOrMsg.message;
    } else if (typeof fieldsOrMsg === 'object' && fieldsOrMsg !== null) {
      fields = this.#bindings === undefined ? fieldsOrMsg : merge(this.#bindings, fieldsOrMsg);
      if (msg === undefined) msg = fields['msg'];
    } else {
      fields = this.#bindings;
    }
    const core = this.#core;
    const ms = core.now();
    if (ms !== core.lastMs) {
      core.lastTs = new Date(ms).toISOString();
      core.lastMs = ms;
    }
    core.destination.write(core.json ? jsonLine(core.lastTs, level, msg, fields) : logfmtLine(core.lastTs, level, msg, fields));
  }
}

/** Object.assign semantics (a later key keeps the earlier position), undefined values skipped. */
function merge(base: LogFields | undefined, extra: LogFields): LogFields {
  const out: Record<string, unknown> = { ...base };
  for (const key in extra) {
    if (!Object.hasOwn(extra, key)) continue;
    const value = extra[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
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
 * read when an event comes, so an idle limiter costs nothing; at a disabled level, log() returns
 * at once.
 */
export function rateLimited(
  logger: Logger,
  intervalMs: number,
  options: { now?: () => number; level?: LogLevel } = {},
): RateLimitedLog {
  const now = options.now ?? Date.now;
  const level = options.level ?? 'warn';
  const enabled = logger.isLevelEnabled(level);
  const state = new Map<string, { lastLogged: number; suppressed: number; fields?: Record<string, unknown> }>();

  const write = (msg: string, fields: Record<string, unknown> | undefined, suppressed: number): void => {
    const record = suppressed > 0 ? { ...fields, suppressed } : { ...fields };
    logger[level](record, msg);
  };

  return {
    log(msg, fields) {
      if (!enabled) return;
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
