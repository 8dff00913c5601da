// Structured logging shaped like the go-kit logs of Prometheus exporters:
//   ts=2026-01-02T03:04:05.678Z level=info msg="link down" device=eth0
// or the same keys as one JSON object per line. ts, level and msg come first.
//
// Each line is formatted once, straight from the fields, and handed to the destination as one
// string. A disabled level returns before touching its arguments; hot paths that would build a
// field object ask isLevelEnabled() first. Stderr goes through FdLineWriter: asynchronous, at most
// 20 ms late, bounded at 16 MiB of unwritten text (newest lines dropped and counted), flushed
// synchronously at exit.

import { fs } from './builtins.js';
import type { LogFormat, LogLevel } from '../cli/config.js';
import { systemClock, type Clock, type ClockTimer } from './clock.js';

const { writev: fsWritev, writeSync } = fs;

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
   * during a storm of carrier changes; beyond 16 MiB of unwritten log the newest lines are
   * dropped (counted in droppedLines), never the scrape. It is flushed synchronously at exit.
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

// Messages are mostly literals: their formatted text is kept (a bounded number of them).
const MAX_CACHED_MSGS = 512;
const jsonMsgs = new Map<string, string>();

function cachedMsg(cache: Map<string, string>, msg: string, format: (s: string) => string): string {
  let text = cache.get(msg);
  if (text === undefined) {
    text = format(msg);
    if (cache.size < MAX_CACHED_MSGS && msg.length <= 200) cache.set(msg, text);
  }
  return text;
}

// ts, level and msg are the logger's: fields of those names do not repeat or forge them.
function isReserved(key: string): boolean {
  return key === 'ts' || key === 'level' || key === 'msg';
}

// ---------------------------------------------------------------------------------------------
// logfmt. Values are quoted when they hold a space, '=', '"' or '\' ('"' and '\' escaped) and
// "" stands for the empty string, as the `logfmt` package writes them; a value holding a control
// character, U+2028 or U+2029 is written as a JSON string instead, so a line never splits.
// Keys keep [A-Za-z0-9_.:-]; any other UTF-16 unit becomes '_'.

function logfmtLine(ts: string, level: LogLevel, msg: unknown, fields: LogFields | undefined): string {
  // ' level=info msg="carrier changed"' and ' device=' are kept formatted: a storm's line is
  // then a handful of concatenations, each a string the garbage collector has to sweep.
  let line = 'ts=' + ts;
  if (typeof msg === 'string') {
    line += cachedMsg(LOGFMT_LEVEL_MSG[level], msg, (m) => ' level=' + level + ' msg=' + logfmtString(m));
  } else {
    line += ' level=' + level;
    const value = msg === undefined ? undefined : logfmtValue(msg);
    if (value !== undefined) line += ' msg=' + value;
  }
  if (fields !== undefined) {
    for (const key in fields) {
      if (!Object.hasOwn(fields, key) || isReserved(key)) continue;
      const value = logfmtValue(fields[key]);
      if (value !== undefined) line += cachedMsg(logfmtKeys, key, logfmtKeyPart) + value;
    }
  }
  return line + '\n';
}

const LOGFMT_LEVEL_MSG: Readonly<Record<LogLevel, Map<string, string>>> = { debug: new Map(), info: new Map(), warn: new Map(), error: new Map() };
const logfmtKeys = new Map<string, string>();
const logfmtKeyPart = (key: string): string => ' ' + logfmtKey(key) + '=';

const SAFE_KEY = /^[A-Za-z0-9_.:-]+$/;
const UNSAFE_KEY_CHAR = /[^A-Za-z0-9_.:-]/g;

function logfmtKey(key: string): string {
  if (SAFE_KEY.test(key)) return key;
  return key.replace(UNSAFE_KEY_CHAR, '_') || '_';
}

// eslint-disable-next-line no-control-regex
const LOGFMT_SPECIAL = /[\u0000-\u001f\u007f\u2028\u2029 ="\\]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;
const QUOTE_OR_BACKSLASH = /["\\]/g;

function logfmtString(s: string): string {
  if (s === '') return '""';
  if (!LOGFMT_SPECIAL.test(s)) return s;
  if (CONTROL.test(s)) return JSON.stringify(s);
  return '"' + s.replace(QUOTE_OR_BACKSLASH, '\\$&') + '"';
}

/** How one format writes a string, an error and any other object. */
interface ValueFormat {
  string(s: string): string;
  error(e: Error): string;
  object(o: object): string | undefined;
}

/**
 * A field's value: numbers, booleans and bigints as JSON writes them (non-finite numbers are
 * null), the rest by the format; undefined leaves the field out (undefined, functions, symbols).
 */
function formatValue(value: unknown, format: ValueFormat): string | undefined {
  switch (typeof value) {
    case 'string':
      return format.string(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return 'null';
      // Like go-kit: an error is logged by its message, without the stack.
      return value instanceof Error ? format.error(value) : format.object(value);
    default:
      return undefined;
  }
}

const LOGFMT_VALUES: ValueFormat = {
  string: logfmtString,
  error: (e) => logfmtString(String(e.message)),
  object(o) {
    const text = objectJson(o);
    if (text === undefined) return undefined;
    // toJSON() may give a primitive (a Date gives its ISO string): format that instead.
    const first = text.charCodeAt(0);
    if (first === 0x7b /* { */ || first === 0x5b /* [ */) return logfmtString(text);
    return logfmtValue(JSON.parse(text));
  },
};

function logfmtValue(value: unknown): string | undefined {
  return formatValue(value, LOGFMT_VALUES);
}

// ---------------------------------------------------------------------------------------------
// JSON: one object per line, as JSON.stringify writes it; non-finite numbers are null, a bigint
// is a bare integer, an error is its message.

function jsonLine(ts: string, level: LogLevel, msg: unknown, fields: LogFields | undefined): string {
  let line = '{"ts":"' + ts + '","level":"' + level + '"';
  if (msg !== undefined) {
    const value = typeof msg === 'string' ? cachedMsg(jsonMsgs, msg, jsonString) : jsonValue(msg);
    if (value !== undefined) line += ',"msg":' + value;
  }
  if (fields !== undefined) {
    for (const key in fields) {
      if (!Object.hasOwn(fields, key) || isReserved(key)) continue;
      const value = jsonValue(fields[key]);
      if (value !== undefined) line += ',' + jsonString(key) + ':' + value;
    }
  }
  return line + '}\n';
}

// Characters JSON.stringify would escape (or might: any surrogate, in case it is a lone one).
// eslint-disable-next-line no-control-regex
const JSON_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;

function jsonString(s: string): string {
  return JSON_SPECIAL.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

const JSON_VALUES: ValueFormat = {
  string: jsonString,
  error: (e) => JSON.stringify(String(e.message)),
  object: objectJson,
};

function jsonValue(value: unknown): string | undefined {
  return formatValue(value, JSON_VALUES);
}

/** JSON text of an object field; nested errors are their message; a cycle is "[Circular]". */
function objectJson(value: object): string | undefined {
  try {
    return JSON.stringify(value, nestedValue) as string | undefined;
  } catch {
    try {
      return safeJson(value, []);
    } catch {
      return '"[unserializable]"';
    }
  }
}

function nestedValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return String(value);
  if (value instanceof Error) return String(value.message);
  return value;
}

function safeJson(input: unknown, ancestors: object[]): string | undefined {
  let value = input;
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  value = nestedValue('', value);
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'number' && !Number.isFinite(value) ? 'null' : (JSON.stringify(value) as string | undefined);
  }
  if (ancestors.includes(value)) return '"[Circular]"';
  ancestors.push(value);
  let text: string;
  if (Array.isArray(value)) {
    text = '[' + value.map((item: unknown) => safeJson(item, ancestors) ?? 'null').join(',') + ']';
  } else {
    const parts: string[] = [];
    for (const [key, item] of Object.entries(value)) {
      const itemText = safeJson(item, ancestors);
      if (itemText !== undefined) parts.push(JSON.stringify(key) + ':' + itemText);
    }
    text = '{' + parts.join(',') + '}';
  }
  ancestors.pop();
  return text;
}

// ---------------------------------------------------------------------------------------------
// Stderr.

export const MAX_BUFFERED_LOG_BYTES = 16 * 1024 * 1024;
/**
 * Queued text is kept as bytes, in buffers of CHUNK_BYTES that each line is encoded into as it
 * comes (Buffer#write): no string per line to measure, join and encode again later, and the
 * buffers are reused once written. One fs.writev takes every filled buffer, up to
 * MAX_WRITE_BYTES: what a busy turn of the event loop logged goes out in one system call.
 * Cheaper per line than keeping strings and joining them per buffer (docs/design.md, Measured
 * trade-offs).
 */
const CHUNK_BYTES = 64 * 1024;
const MAX_WRITE_BYTES = 1024 * 1024;
/** Written buffers kept for reuse (the rest are left to the GC). */
const SPARE_CHUNKS = 2;
/**
 * A write starts once CHUNK_BYTES are queued, or LINGER_MS after the oldest unwritten line:
 * each write is a round trip through the thread pool, whose CPU cost hardly depends on how much
 * it carries (docs/design.md, Measured trade-offs), so a storm's lines go out a buffer at a time
 * rather than a write as soon as the previous one is done. A line waits at most LINGER_MS longer to be seen.
 */
export const LINGER_MS = 20;
export const EAGAIN_RETRY_MS = 10;
/** The longest the exit flush waits for a non-blocking stderr to take the queue, in all. */
export const EXIT_STALL_LIMIT_MS = 500;

export type WritevFn = (fd: number, buffers: readonly NodeJS.ArrayBufferView[], position: number | null, cb: (err: NodeJS.ErrnoException | null, bytes: number) => void) => void;

/**
 * Lines to a file descriptor without ever blocking the event loop: write() only encodes the line
 * into the queue, and one fs.writev at a time (in the thread pool) drains it, when CHUNK_BYTES
 * are queued or LINGER_MS after the oldest queued line, everything queued meanwhile in the next
 * one. A slow reader only makes the queue grow; a line that would take it past maxBufferedBytes
 * is dropped and counted. If the descriptor fails (EPIPE: the reader is gone), every later line
 * is dropped and counted too. flushSync() writes the queue synchronously (for the exit handler).
 */
export class FdLineWriter {
  readonly #fd: number;
  readonly #maxBytes: number;
  readonly #writev: WritevFn;
  readonly #clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** filled buffers (views of CHUNK_BYTES buffers, or a long line's own) and their line counts */
  #queued: Buffer[] = [];
  #queuedLines: number[] = [];
  #queuedBytes = 0;
  /** the buffer lines are being encoded into, and how much of it is used */
  #current: Buffer | undefined;
  #currentBytes = 0;
  #currentLines = 0;
  readonly #spare: Buffer[] = [];
  /** what the fs.writev in the thread pool (or waiting for a retry) is writing, and how far it got */
  #inflight: Buffer[] = [];
  #inflightBytes = 0;
  #inflightWritten = 0;
  #inflightLines = 0;
  #writing = false; // an fs.writev of #inflight is in the thread pool
  #scheduled = false; // a drain is due at the next turn of the event loop
  #linger: ClockTimer | undefined; // a drain is due LINGER_MS after the oldest queued line
  #dropped = 0;
  #failed = false;

  /** `writev`: fs.writev unless a test counts the calls; `clock`: the linger and retry timers'. */
  constructor(fd: number, options: { maxBufferedBytes?: number; writev?: WritevFn; clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'> } = {}) {
    this.#fd = fd;
    this.#maxBytes = options.maxBufferedBytes ?? MAX_BUFFERED_LOG_BYTES;
    this.#writev = options.writev ?? fsWritev;
    this.#clock = options.clock ?? systemClock;
  }

  /** Lines dropped so far (buffer full, or the descriptor failed). */
  get droppedLines(): number {
    return this.#dropped;
  }

  /** Bytes accepted but not yet written. */
  get bufferedBytes(): number {
    return this.#queuedBytes + this.#currentBytes + (this.#inflightBytes - this.#inflightWritten);
  }

  write(line: string): void {
    if (this.#failed) {
      this.#dropped += 1;
      return;
    }
    // A UTF-16 unit is at most 3 bytes of UTF-8: the exact length is needed only near a bound.
    let bytes = line.length * 3;
    if (this.bufferedBytes + bytes > this.#maxBytes) {
      bytes = Buffer.byteLength(line);
      if (this.bufferedBytes + bytes > this.#maxBytes) {
        this.#dropped += 1;
        return;
      }
    }
    let current = this.#current;
    if (current !== undefined && current.length - this.#currentBytes < bytes) {
      // The estimate does not fit: the exact length decides (a buffer is sealed only when the
      // line really does not fit, so the bound on queued bytes is a bound on buffers too).
      bytes = Buffer.byteLength(line);
      if (current.length - this.#currentBytes < bytes) {
        this.#seal();
        current = undefined;
      }
    }
    if (current === undefined) {
      if (bytes > CHUNK_BYTES) bytes = Buffer.byteLength(line);
      if (bytes > CHUNK_BYTES) {
        // A line longer than a buffer gets one of its own.
        const own = Buffer.from(line, 'utf8');
        this.#queued.push(own);
        this.#queuedLines.push(1);
        this.#queuedBytes += own.length;
        this.#schedule();
        return;
      }
      current = this.#current = this.#spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
    }
    this.#currentBytes += current.write(line, this.#currentBytes, 'utf8');
    this.#currentLines += 1;
    if (this.#inflight.length === 0) this.#schedule();
  }

  /** Moves the current buffer's lines to the queue. */
  #seal(): void {
    const current = this.#current;
    if (current === undefined) return;
    this.#current = undefined;
    if (this.#currentBytes === 0) {
      this.#spare.push(current);
      return;
    }
    this.#queued.push(current.subarray(0, this.#currentBytes));
    this.#queuedLines.push(this.#currentLines);
    this.#queuedBytes += this.#currentBytes;
    this.#currentBytes = 0;
    this.#currentLines = 0;
  }

  /** Asks for a drain: at once when a buffer's worth is queued, else after LINGER_MS. */
  #schedule(): void {
    const pending = this.#queuedBytes + this.#currentBytes;
    if (this.#scheduled || pending === 0) return;
    if (pending >= CHUNK_BYTES) {
      this.#clock.clearTimeout(this.#linger);
      this.#linger = undefined;
      this.#scheduled = true;
      setImmediate(this.#drain);
    } else {
      this.#linger ??= this.#clock.setTimeout(this.#drain, LINGER_MS);
    }
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    this.#clock.clearTimeout(this.#linger);
    this.#linger = undefined;
    if (this.#inflight.length !== 0 || this.#failed) return;
    this.#seal();
    if (this.#queued.length === 0) return;
    let take = 0;
    let bytes = 0;
    let lines = 0;
    // At least one buffer; more while they fit in MAX_WRITE_BYTES.
    while (take < this.#queued.length && (take === 0 || bytes + (this.#queued[take] as Buffer).length <= MAX_WRITE_BYTES)) {
      bytes += (this.#queued[take] as Buffer).length;
      lines += this.#queuedLines[take] ?? 0;
      take += 1;
    }
    this.#inflight = this.#queued.splice(0, take);
    this.#queuedLines.splice(0, take);
    this.#queuedBytes -= bytes;
    this.#inflightBytes = bytes;
    this.#inflightWritten = 0;
    this.#inflightLines = lines;
    this.#writeInflight();
  };

  /** What of #inflight is not written yet. */
  #unwritten(): Buffer[] {
    let skip = this.#inflightWritten;
    const out: Buffer[] = [];
    for (const buffer of this.#inflight) {
      if (skip >= buffer.length) {
        skip -= buffer.length;
        continue;
      }
      out.push(skip === 0 ? buffer : buffer.subarray(skip));
      skip = 0;
    }
    return out;
  }

  readonly #writeInflight = (): void => {
    if (this.#inflight.length === 0 || this.#writing) return;
    this.#writing = true;
    this.#writev(this.#fd, this.#unwritten(), null, this.#written);
  };

  readonly #written = (error: NodeJS.ErrnoException | null, bytes: number): void => {
    this.#writing = false;
    if (this.#inflight.length === 0) return; // flushSync took over
    if (error !== null) {
      if (error.code === 'EAGAIN' || error.code === 'EBUSY' || error.code === 'EINTR') {
        // A non-blocking descriptor that is full: try again shortly (the exit flush still
        // writes it if the process ends first).
        this.#clock.setTimeout(this.#writeInflight, EAGAIN_RETRY_MS).unref();
        return;
      }
      this.#fail();
      return;
    }
    this.#inflightWritten += bytes;
    if (this.#inflightWritten < this.#inflightBytes) {
      this.#writeInflight();
      return;
    }
    this.#recycle(this.#inflight);
    this.#inflight = [];
    this.#inflightBytes = 0;
    this.#inflightWritten = 0;
    this.#inflightLines = 0;
    this.#schedule();
  };

  /** Keeps up to SPARE_CHUNKS written buffers of CHUNK_BYTES for the lines to come. */
  #recycle(buffers: readonly Buffer[]): void {
    for (const buffer of buffers) {
      if (this.#spare.length >= SPARE_CHUNKS) return;
      if (buffer.buffer.byteLength === CHUNK_BYTES && buffer.byteOffset === 0) this.#spare.push(Buffer.from(buffer.buffer, 0, CHUNK_BYTES));
    }
  }

  #fail(): void {
    this.#failed = true;
    this.#dropped += this.#inflightLines + this.#currentLines + this.#queuedLines.reduce((sum, n) => sum + n, 0);
    this.#inflight = [];
    this.#inflightBytes = 0;
    this.#inflightWritten = 0;
    this.#queued = [];
    this.#queuedLines = [];
    this.#queuedBytes = 0;
    this.#current = undefined;
    this.#currentBytes = 0;
    this.#currentLines = 0;
  }

  /**
   * Writes everything queued, synchronously, in order. A write still in the thread pool is left
   * to it: if the reader is so slow that it has not finished, its text and the queue's may reach
   * the reader interleaved (sonic-boom's flushSync does the same). On a non-blocking descriptor
   * (run.ts makes a pipe or socket on stderr one), EAGAIN is retried for EXIT_STALL_LIMIT_MS in
   * all, then the rest is given up; a blocking descriptor's writes are waited for.
   */
  flushSync(): void {
    if (this.#failed) return;
    this.#seal();
    const pending: Buffer[] = this.#writing ? [] : this.#unwritten();
    if (!this.#writing) {
      this.#inflight = [];
      this.#inflightBytes = 0;
      this.#inflightWritten = 0;
    }
    pending.push(...this.#queued);
    this.#queued = [];
    this.#queuedLines = [];
    this.#queuedBytes = 0;
    // One bound for the whole flush, not per stall: a reader that keeps taking a little would
    // otherwise hold the exit for as long as the queue (up to 16 MiB) takes it.
    const deadline = performance.now() + EXIT_STALL_LIMIT_MS;
    for (const buffer of pending) {
      let offset = 0;
      while (offset < buffer.length) {
        try {
          offset += writeSync(this.#fd, buffer, offset, buffer.length - offset);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if ((code !== 'EAGAIN' && code !== 'EINTR') || performance.now() >= deadline) {
            this.#failed = true; // stderr gone (EPIPE) or stuck: nothing more can be said
            return;
          }
          sleepMs(1);
        }
      }
    }
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

let stderrWriter: FdLineWriter | undefined;

function sharedStderr(): FdLineWriter {
  if (stderrWriter === undefined) {
    const writer = new FdLineWriter(2);
    stderrWriter = writer;
    process.once('exit', () => writer.flushSync());
  }
  return stderrWriter;
}

// ---------------------------------------------------------------------------------------------

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
