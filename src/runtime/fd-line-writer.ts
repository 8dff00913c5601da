// Lines to a file descriptor (the logger's stderr) without ever blocking the event loop: queued
// as bytes, written by fs.writev in the thread pool, bounded (newest lines dropped and counted),
// flushed synchronously at exit.

import { fs } from './builtins.js';
import { systemClock, type Clock, type ClockTimer } from './clock.js';

const { writev: fsWritev, writeSync } = fs;

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
    // otherwise hold the exit for as long as the queue (up to MAX_BUFFERED_LOG_BYTES) takes it.
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

/** The process's one writer to stderr, flushed synchronously at exit. */
export function sharedStderr(): FdLineWriter {
  if (stderrWriter === undefined) {
    const writer = new FdLineWriter(2);
    stderrWriter = writer;
    process.once('exit', () => writer.flushSync());
  }
  return stderrWriter;
}
